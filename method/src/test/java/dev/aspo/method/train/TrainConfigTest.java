package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.models.lora.TargetModules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {
    @Test
    void yamlAndJsonFilesWithFlagsWinning(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, "lr: 1.0e-4\nbatch_size: 8\nnormalization: reward-ratio\nskip_bad_records: true\n");
        TrainConfig c = TrainConfig.load(yaml, Map.of("batch-size", "3", "beta", "0.25"));
        assertEquals(1e-4, c.number("lr"));
        assertEquals(3, c.integer("batch_size"));
        assertEquals(0.25, c.number("beta"));
        assertTrue(c.bool("skip_bad_records"));
        assertEquals(LossConfig.Normalization.REWARD_RATIO, c.lossConfig(LossConfig.LossType.ASPO).normalization());
        assertEquals(1, c.integer("grad_accum"));   // default

        Path json = dir.resolve("c.json");
        Files.writeString(json, "{\"lr\": 0.002, \"alpha\": 0}");
        TrainConfig j = TrainConfig.load(json, Map.of());
        assertEquals(0.002, j.number("lr"));
        assertEquals(0.0, j.lossConfig(LossConfig.LossType.ASPO).alpha());

        c.save(dir.resolve("saved.json"));   // what a run writes, read back
        assertEquals(c.values(), TrainConfig.load(dir.resolve("saved.json"), Map.of()).values());
    }

    @Test
    void badKeysAndValuesAreNamed(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("c.yml");
        Files.writeString(yaml, "learning_rate: 1\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(yaml, Map.of())).getMessage()
                .contains("unknown config key learning_rate"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("batch_size", "two"))).getMessage()
                .contains("batch_size: expected a whole number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("grad_accum", "0"))).getMessage()
                .contains("grad_accum must be at least 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("normalization", "max"))).getMessage()
                .contains("normalization: unknown value \"max\""));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("reference_mode", "x"))).getMessage()
                .contains("reference_mode"));
        assertEquals("nll_weighting: unknown value \"omega\" (expected uniform or sentence)",
                assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("nll_weighting", "omega"))).getMessage());
        assertEquals("dtype: unknown dtype \"bf16\" (expected float32, bfloat16 or float16)",
                assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("dtype", "bf16"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("dtype", "bfloat16", "device", "opencl")))
                .getMessage().startsWith("dtype: bfloat16 holds frozen weights for the cpu backend, but device is opencl"));
        assertEquals(dev.aspo.tensor.Precision.FLOAT32, TrainConfig.of(Map.of()).dtype(), "the default changes nothing");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of()).requirePath("model")).getMessage()
                .contains("config key model is required"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("max_shard_size", "5GiB"))).getMessage()
                .startsWith("max_shard_size: shard size \"5GiB\" is not a size"));
        assertEquals(5_000_000_000L, TrainConfig.of(Map.of("max_shard_size", "5GB")).maxShardBytes());
        assertEquals(Long.MAX_VALUE, TrainConfig.of(Map.of()).maxShardBytes(), "unset: one file");
        Path list = dir.resolve("l.yaml");
        Files.writeString(list, "lr: [1, 2]\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(list, Map.of())).getMessage()
                .contains("key lr must have a plain value"));
    }

    @Test
    void aLoraBlockInPeftsNamesFromAFileOrFlagsAndBackFromTheSavedSettings(@TempDir Path dir) throws IOException {
        Path yaml = dir.resolve("c.yaml");
        Files.writeString(yaml, "lr: 1.0e-4\ngradient_checkpointing: true\nlora:\n  r: 16\n  lora_alpha: 32\n  lora_dropout: 0.05\n"
                + "  target_modules: [q_proj, v_proj]\n  exclude_modules: \".*vision_tower.*\"\n  use_rslora: true\n");
        TrainConfig c = TrainConfig.load(yaml, Map.of("lora.r", "8"));
        assertTrue(c.bool("gradient_checkpointing"));
        LoraSettings s = LoraSettings.of(c);
        assertEquals(8, s.config().r(), "a flag wins over the file");
        assertEquals(32.0, s.config().loraAlpha());
        assertEquals(0.05, s.config().loraDropout());
        assertEquals(TargetModules.names("q_proj", "v_proj"), s.config().targetModules());
        assertEquals(TargetModules.regex(".*vision_tower.*"), s.config().excludeModules());
        assertTrue(s.config().useRslora());
        assertEquals(null, s.adapter());

        c.save(dir.resolve("saved.json"));   // the run's train_config.json: a lora block again, read back to the same settings
        JsonNode saved = new ObjectMapper().readTree(dir.resolve("saved.json").toFile());
        assertEquals("[\"q_proj\",\"v_proj\"]", saved.get("lora").get("target_modules").toString());
        assertFalse(saved.has("lora.r"));
        assertEquals(c.values(), TrainConfig.load(dir.resolve("saved.json"), Map.of()).values());
        assertFalse(TrainConfig.of(Map.of()).toJson().has("lora"), "no block without LoRA");
        assertEquals(null, LoraSettings.of(TrainConfig.of(Map.of())));

        // flags: a JSON list is a list, anything else a regular expression (PEFT's string form)
        assertEquals(TargetModules.names("q_proj"), LoraSettings.of(TrainConfig.of(Map.of("lora.target_modules", "[\"q_proj\"]")))
                .config().targetModules());
        assertEquals(TargetModules.regex("[qv]_proj"), LoraSettings.of(TrainConfig.of(Map.of("lora.target_modules", "[qv]_proj")))
                .config().targetModules());
        LoraSettings defaults = LoraSettings.of(TrainConfig.of(Map.of("lora.target_modules", "all-linear")));
        assertEquals(8, defaults.config().r());
        assertEquals(8.0, defaults.config().loraAlpha());
        assertEquals(0.0, defaults.config().loraDropout());
        assertEquals(Path.of("a/b"), LoraSettings.of(TrainConfig.of(Map.of("lora.adapter", "a/b"))).adapter());
    }

    @Test
    void aBadLoraSettingIsOneErrorNamingItsKey(@TempDir Path dir) throws IOException {
        Map<String, String> targets = Map.of("lora.target_modules", "q_proj");
        String[][] cases = {
            {"lora.r", "0", "lora.r must be a whole number >= 1, got 0"},
            {"lora.r", "two", "lora.r: expected a whole number, got \"two\""},
            {"lora.lora_alpha", "-1", "lora.lora_alpha must be a finite number > 0, got -1"},
            {"lora.lora_dropout", "1", "lora.lora_dropout must be in [0, 1), got 1"},
            {"lora.use_rslora", "yes", "lora.use_rslora: expected true or false, got \"yes\""},
            {"lora.target_modules", "q_proj(", "lora.target_modules: not a valid regular expression: \"q_proj(\""},
            {"lora.target_modules", "[]", "lora.target_modules: an empty list of module names matches nothing"},
            {"lora.exclude_modules", "all-linear", "lora.exclude_modules: cannot be \"all-linear\""},
        };
        for (String[] c : cases) {
            Map<String, String> o = new java.util.HashMap<>(targets);
            o.put(c[0], c[1]);
            String m = assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(o)).getMessage();
            assertTrue(m.startsWith(c[2]), c[0] + " " + c[1] + ": " + m);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("lora.r", "8"))).getMessage()
                .startsWith("lora.target_modules is required in a lora block"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("lora.adapter", "a", "lora.r", "8")))
                .getMessage().startsWith("lora.r cannot be set with lora.adapter: the adapter's adapter_config.json sets it"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("gradient_checkpointing", "on")))
                .getMessage().startsWith("gradient_checkpointing: expected true or false"));
        String[][] files = {
            {"lora:\n  rank: 8\n", "unknown key lora.rank (lora keys: r, lora_alpha, lora_dropout, target_modules, exclude_modules,"
                + " use_rslora, adapter)"},
            {"lora:\n", "the lora block is empty"},
            {"lora: 8\n", "lora must be a mapping of LoRA settings"},
            {"lora:\n  r: [8]\n  target_modules: q_proj\n", "key lora.r must have a plain value"},
            {"lora:\n  target_modules: {a: 1}\n", "key lora.target_modules must have a plain value (a list of module names or a"
                + " regular expression)"},
        };
        for (String[] f : files) {
            Path yaml = dir.resolve("bad.yaml");
            Files.writeString(yaml, f[0]);
            String m = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(yaml, Map.of())).getMessage();
            assertTrue(m.startsWith(yaml + ": " + f[1]), m);
        }
    }
}
