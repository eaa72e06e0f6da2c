package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aspo train sft|dpo|aspo} with a {@code lora} block: only the adapters train and hold
 * AdamW moments, the reference is the base model (the adapters off), checkpoints are PEFT adapter
 * folders, a killed run resumes to the same metrics and adapter bit for bit (dropout included,
 * with and without gradient checkpointing), an adapter can be trained further, and the settings
 * that cannot go together are refused naming their keys.
 */
class LoraTrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Tokenizer TOK = Tiny.tokenizer();
    private static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());
    private static final String[] LORA = {"lora.r", "4", "lora.lora_alpha", "8", "lora.target_modules", "[\"q_proj\", \"v_proj\", \"down_proj\"]"};

    private static TrainConfig config(Path train, Path out, String... kv) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("train_file", train.toString());
        o.put("output_dir", out.toString());
        o.put("batch_size", "2");
        o.put("lr", "1e-2");
        o.put("progress", "none");
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        return TrainConfig.of(o);
    }

    private static String[] concat(String[]... parts) {
        List<String> out = new ArrayList<>();
        for (String[] p : parts) out.addAll(List.of(p));
        return out.toArray(new String[0]);
    }

    private static Trainer trainer(Trainer.Mode mode, TrainConfig cfg, LlamaForCausalLM model) {
        return new Trainer(mode, cfg, new LlamaPolicy(model), null, TOK, mode == Trainer.Mode.ASPO ? TrainerTest.TEXT_SIMILARITY : null,
                QUIET);
    }

    private static Map<String, float[]> floats(Path file) throws IOException {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : SafeTensors.readFloats(file).entrySet()) out.put(e.getKey(), e.getValue().toFloatArray());
        return out;
    }

    private static void assertSameTensors(Path a, Path b) throws IOException {
        Map<String, float[]> x = floats(a), y = floats(b);
        assertEquals(x.keySet(), y.keySet());
        for (String k : x.keySet()) assertArrayEquals(x.get(k), y.get(k), 0f, k);
    }

    @Test
    void onlyTheAdaptersTrainAgainstTheBaseModelAndTheCheckpointIsAPeftAdapter(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 1);
        Path base = dir.resolve("base");
        new LlamaPolicy(Tiny.model(TOK, 3)).save(base);
        LlamaForCausalLM model = Tiny.model(TOK, 3), before = Tiny.model(TOK, 3);
        Path out = dir.resolve("run");
        trainer(Trainer.Mode.DPO, config(train, out, concat(LORA, new String[] {"max_steps", "3", "model", base.toString()})), model)
                .run(null);

        for (var e : model.namedParameters().entrySet()) {
            assertArrayEquals(before.namedParameters().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), 0f, e.getKey());
        }
        List<ObjectNode> m = TrainerTest.metrics(out);
        // step 1: fresh adapters (lora_B = 0) compute the base model, which is the reference: no margin at all
        assertEquals(0.0, m.get(0).get("rewards/margins").asDouble());
        assertEquals(Math.log(2), m.get(0).get("loss").asDouble(), 1e-6);
        assertTrue(m.get(2).get("rewards/margins").asDouble() != 0.0);

        Path ckpt = out.resolve("checkpoint-3");
        for (String f : new String[] {"adapter_config.json", LoraModel.WEIGHTS_FILE, Checkpoints.OPTIMIZER, Checkpoints.STATE}) {
            assertTrue(Files.isRegularFile(ckpt.resolve(f)), f);
        }
        assertFalse(Files.exists(ckpt.resolve("model.safetensors")), "the base model is not copied into checkpoints");
        JsonNode ac = JSON.readTree(ckpt.resolve("adapter_config.json").toFile());
        assertEquals("LORA", ac.get("peft_type").asText());
        assertEquals(base.toAbsolutePath().toString(), ac.get("base_model_name_or_path").asText());
        assertEquals("[\"q_proj\",\"v_proj\",\"down_proj\"]", ac.get("target_modules").toString());
        assertEquals(4, ac.get("r").asInt());
        assertEquals("CAUSAL_LM", ac.get("task_type").asText());
        Map<String, float[]> adapter = floats(ckpt.resolve(LoraModel.WEIGHTS_FILE));
        assertEquals(3 * 2, adapter.size(), "q_proj, v_proj, down_proj of the one layer: lora_A and lora_B each");
        for (String k : floats(ckpt.resolve(Checkpoints.OPTIMIZER)).keySet()) {
            assertTrue(k.startsWith("base_model.model.model.layers.0.") && k.contains(".lora_"), "AdamW state of " + k);
        }

        // the checkpoint loads onto the base model as PEFT's from_pretrained would: the trained adapters
        LoraModel reloaded = LoraModel.load(LlamaForCausalLM.load(base), ckpt);
        for (var e : reloaded.trainableParameters().entrySet()) {
            assertArrayEquals(adapter.get(e.getKey()), e.getValue().toFloatArray(), 0f, e.getKey());
        }
        float[] b = adapter.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
        float sum = 0;
        for (float v : b) sum += Math.abs(v);
        assertTrue(sum > 0, "lora_B trained");
    }

    @Test
    void aKilledLoraRunWithDropoutResumesBitForBitWithAndWithoutGradientCheckpointing(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 7, 2);   // 7 records, batch 2: epochs end mid-step
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            String[] common = concat(LORA, new String[] {"lora.lora_dropout", "0.3", "max_steps", "7", "save_every", "4",
                "grad_accum", "2", "reference_mode", mode == Trainer.Mode.DPO ? "frozen" : "cached"});
            Path a = dir.resolve(mode.key() + "-a"), b = dir.resolve(mode.key() + "-b"), c = dir.resolve(mode.key() + "-c");
            trainer(mode, config(train, a, common), Tiny.model(TOK, 3)).run(null);

            Trainer killed = trainer(mode, config(train, b, common), Tiny.model(TOK, 3));
            killed.stopAfterStep = 5;   // killed during step 6: the last checkpoint is checkpoint-4
            assertThrows(TrainingLoop.Killed.class, () -> killed.run(null));
            trainer(mode, config(train, b, common), Tiny.model(TOK, 3)).run(b);
            assertEquals(TrainerTest.metrics(a), TrainerTest.metrics(b), mode.key());
            assertSameTensors(a.resolve("checkpoint-7/" + LoraModel.WEIGHTS_FILE), b.resolve("checkpoint-7/" + LoraModel.WEIGHTS_FILE));
            assertSameTensors(a.resolve("checkpoint-7/" + Checkpoints.OPTIMIZER), b.resolve("checkpoint-7/" + Checkpoints.OPTIMIZER));

            // the same run with every decoder layer checkpointed: the dropout masks are drawn again the same
            trainer(mode, config(train, c, concat(common, new String[] {"gradient_checkpointing", "true"})), Tiny.model(TOK, 3))
                    .run(null);
            assertEquals(TrainerTest.metrics(a), TrainerTest.metrics(c), mode.key() + " with gradient checkpointing");
            assertSameTensors(a.resolve("checkpoint-7/" + LoraModel.WEIGHTS_FILE), c.resolve("checkpoint-7/" + LoraModel.WEIGHTS_FILE));
        }
        // dropout mattered: without it the run is another one
        Path d = dir.resolve("no-dropout");
        trainer(Trainer.Mode.DPO, config(train, d, concat(LORA, new String[] {"max_steps", "7", "grad_accum", "2",
            "reference_mode", "frozen"})), Tiny.model(TOK, 3)).run(null);
        assertFalse(TrainerTest.metrics(d).equals(TrainerTest.metrics(dir.resolve("dpo-a"))));
    }

    /**
     * {@code dtype: bfloat16} with a lora block holds the whole base model's matrices in bfloat16
     * (the reference is that base with the adapters off): the run, with gradient checkpointing
     * recomputing the layers, is bit for bit the float32 run on a base holding the rounded values.
     */
    @Test
    void aBfloat16BaseTrainsTheAdaptersAsTheRoundedFloat32Base(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 1);
        String[] common = concat(LORA, new String[] {"lora.lora_dropout", "0.3", "max_steps", "3", "reference_mode", "frozen"});
        LlamaForCausalLM half = Tiny.model(TOK, 3);
        Path a = dir.resolve("bf16"), b = dir.resolve("f32");
        trainer(Trainer.Mode.DPO, config(train, a, concat(common, new String[] {"dtype", "bfloat16", "gradient_checkpointing", "true"})),
                half).run(null);
        for (var e : half.namedParameters().entrySet()) {
            assertEquals(e.getValue().rank() >= 2 ? Precision.BFLOAT16 : Precision.FLOAT32, e.getValue().precision(), e.getKey());
        }
        LlamaForCausalLM rounded = Tiny.model(TOK, 3);
        for (Tensor t : rounded.namedParameters().values()) {
            if (t.rank() < 2) continue;
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v[i]));
            t.assign(Tensor.of(v, t.shape()));
        }
        trainer(Trainer.Mode.DPO, config(train, b, common), rounded).run(null);
        assertEquals(TrainerTest.metrics(b), TrainerTest.metrics(a));
        assertTrue(TrainerTest.metrics(a).get(2).get("rewards/margins").asDouble() != 0.0, "the adapters trained");
        assertSameTensors(b.resolve("checkpoint-3/" + LoraModel.WEIGHTS_FILE), a.resolve("checkpoint-3/" + LoraModel.WEIGHTS_FILE));
    }

    @Test
    void theCachedReferenceIsTheFrozenBaseModel(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 3);
        Path cached = dir.resolve("cached"), frozen = dir.resolve("frozen");
        trainer(Trainer.Mode.ASPO, config(train, cached, concat(LORA, new String[] {"max_steps", "3"})), Tiny.model(TOK, 4)).run(null);
        trainer(Trainer.Mode.ASPO, config(train, frozen, concat(LORA, new String[] {"max_steps", "3", "reference_mode", "frozen"})),
                Tiny.model(TOK, 4)).run(null);
        assertEquals(TrainerTest.metrics(frozen), TrainerTest.metrics(cached));
        // the cache's key hashes the base weights: a full-model run on the same base and data finds the same file
        Path full = dir.resolve("full");
        trainer(Trainer.Mode.ASPO, config(train, full, "max_steps", "1", "cache_dir", cached.resolve("cache").toString()),
                Tiny.model(TOK, 4)).run(null);
        try (var files = Files.list(cached.resolve("cache"))) {
            assertEquals(1, files.filter(f -> f.getFileName().toString().startsWith("ref-logps-")).count());
        }
    }

    @Test
    void sftTrainsTheAdaptersAndAnAdapterCanBeTrainedFurther(@TempDir Path dir) throws IOException {
        Path sft = dir.resolve("sft.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add("{\"prompt\": \"Describe the " + Tiny.SHAPES[i % 4] + ".\", \"response\": \"A " + Tiny.COLOURS[i % 4] + " "
                    + Tiny.SHAPES[i % 4] + ". It is small.\"}");
        }
        Files.write(sft, lines);
        Path first = dir.resolve("sft-run");
        trainer(Trainer.Mode.SFT, config(sft, first, "max_steps", "30", "lr", "3e-2",
                "lora.target_modules", ".*\\.(q_proj|v_proj|up_proj)|lm_head", "lora.r", "8", "lora.lora_alpha", "16"), Tiny.model(TOK, 1))
                .run(null);
        List<ObjectNode> m = TrainerTest.metrics(first);
        assertTrue(m.get(29).get("loss").asDouble() < 0.7 * m.get(0).get("loss").asDouble(), m.get(0) + " / " + m.get(29));
        Path adapter = first.resolve("checkpoint-30");
        assertEquals("\".*\\\\.(q_proj|v_proj|up_proj)|lm_head\"",
                JSON.readTree(adapter.resolve("adapter_config.json").toFile()).get("target_modules").toString());

        // DPO from the SFT adapter: it is the policy's start (a margin at step 1), the base model the reference;
        // with lr 0 the adapter leaves the run as it came in
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 1);
        Path second = dir.resolve("dpo-run");
        trainer(Trainer.Mode.DPO, config(train, second, "max_steps", "1", "lr", "0", "lora.adapter", adapter.toString()),
                Tiny.model(TOK, 1)).run(null);
        assertTrue(TrainerTest.metrics(second).get(0).get("rewards/margins").asDouble() != 0.0);
        assertSameTensors(adapter.resolve(LoraModel.WEIGHTS_FILE), second.resolve("checkpoint-1/" + LoraModel.WEIGHTS_FILE));
    }

    @Test
    void settingsThatDoNotGoTogetherAreRefusedNamingTheirKeys(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 1);
        Path out = dir.resolve("run");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(train, out, concat(LORA, new String[] {"lora.lora_dropout", "0.1", "task_graph", "true"})), Tiny.model(TOK, 1)));
        assertTrue(e.getMessage().startsWith("task_graph: true cannot train with lora.lora_dropout > 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(train, out, concat(LORA, new String[] {"freeze", "lm_head."})), Tiny.model(TOK, 1)));
        assertTrue(e.getMessage().startsWith("freeze cannot be set with a lora block"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(train, out, "gradient_checkpointing", "true", "task_graph", "true"), Tiny.model(TOK, 1)));
        assertTrue(e.getMessage().startsWith("gradient_checkpointing: true is not recorded in a task graph yet"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(train, out, "lora.target_modules", "[\"query_key_value\"]"), Tiny.model(TOK, 1)).run(null));
        assertTrue(e.getMessage().startsWith("lora.target_modules [query_key_value] match no linear layer of this LlamaForCausalLM"),
                e.getMessage());
        assertFalse(Files.exists(out), "nothing is written before the adapters fit the model");
        e = assertThrows(IllegalArgumentException.class, () -> new ClipTrainer(config(train, out, LORA), null, null, null, QUIET));
        assertTrue(e.getMessage().startsWith("lora: LoRA adapters are trained for sft, dpo and aspo"), e.getMessage());
    }
}
