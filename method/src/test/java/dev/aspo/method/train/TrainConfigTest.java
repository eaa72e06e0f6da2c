package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.loss.LossConfig;
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
}
