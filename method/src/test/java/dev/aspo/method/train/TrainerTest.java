package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
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

class TrainerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Tokenizer TOK = Tiny.tokenizer();

    /** A similarity that depends only on the sentence text (stands in for CLIP in these tests). */
    static final SimilaritySource TEXT_SIMILARITY = (Record r, List<String> sentences) -> {
        double[] s = new double[sentences.size()];
        for (int i = 0; i < s.length; i++) s[i] = (sentences.get(i).hashCode() % 1000) / 1000.0;
        return s;
    };

    private static TrainConfig config(Path dir, Path train, String... kv) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("train_file", train.toString());
        o.put("output_dir", dir.resolve("run").toString());
        o.put("batch_size", "2");
        o.put("lr", "1e-2");
        o.put("progress", "none");
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        return TrainConfig.of(o);
    }

    private static Trainer trainer(Trainer.Mode mode, TrainConfig cfg, LlamaForCausalLM model) {
        return trainer(mode, cfg, model, null);
    }

    private static Trainer trainer(Trainer.Mode mode, TrainConfig cfg, LlamaForCausalLM model, LlamaForCausalLM reference) {
        return new Trainer(mode, cfg, new LlamaPolicy(model), reference == null ? null : new LlamaPolicy(reference), TOK,
                mode == Trainer.Mode.ASPO ? TEXT_SIMILARITY : null, new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void taskGraphsNeedOpenClAndCachedReferenceLogProbs(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(dir, train, "task_graph", "true", "reference_mode", "frozen"), Tiny.model(TOK, 1)));
        assertTrue(e.getMessage().startsWith("task_graph: true needs reference_mode: cached"), e.getMessage());
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.SFT, Trainer.Mode.DPO}) {
            e = assertThrows(IllegalArgumentException.class,
                    () -> trainer(mode, config(dir, train, "task_graph", "true"), Tiny.model(TOK, 1)));
            assertTrue(e.getMessage().contains("set device: opencl"), e.getMessage());
        }
    }

    static List<ObjectNode> metrics(Path out) throws IOException {
        List<ObjectNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(out.resolve(Trainer.METRICS))) {
            ObjectNode n = (ObjectNode) JSON.readTree(l);
            n.remove("tokens_per_s");   // wall-clock: the one field that may differ
            lines.add(n);
        }
        return lines;
    }

    @Test
    void dpoAndAspoTrainWithoutNanAndTheMarginGrows(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 16, 1);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            Path out = dir.resolve(mode.key());
            TrainConfig cfg = config(dir, train, "max_steps", "200", "output_dir", out.toString(), "warmup_steps", "10",
                    "lr", "3e-3", "beta", "0.5");
            Trainer.Result r = trainer(mode, cfg, Tiny.model(TOK, 7)).run(null);
            assertEquals(200, r.steps());
            List<ObjectNode> m = metrics(out);
            assertEquals(200, m.size());
            double first = 0, last = 0;
            for (int i = 0; i < 20; i++) first += m.get(i).get("rewards/margins").asDouble() / 20;
            for (int i = 180; i < 200; i++) last += m.get(i).get("rewards/margins").asDouble() / 20;
            for (ObjectNode n : m) assertTrue(Double.isFinite(n.get("loss").asDouble()), n.toString());
            assertTrue(last > first + 1.0, mode + ": margin " + first + " -> " + last);
            assertTrue(m.get(199).get("rewards/accuracies").asDouble() >= 0.5, m.get(199).toString());
            if (mode == Trainer.Mode.ASPO) {
                for (String k : new String[] {"aspo/sentences", "aspo/weight_mean", "aspo/weight_std", "aspo/omega_max",
                        "aspo/ratio_fallbacks"}) {
                    assertTrue(m.get(0).has(k), k);
                }
            }
            for (String k : new String[] {"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                    "logps/chosen", "logps/rejected", "grad_norm", "lr", "step", "epoch"}) {
                assertTrue(m.get(0).has(k), k);
            }
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-200/model.safetensors")));
        }
    }

    /** Adds chosen_sentence_labels to every record of {@code train}: {@code label.apply(line)} per sentence (2 sentences each). */
    private static Path withLabels(Path dir, Path train, String name, java.util.function.IntFunction<String> labels) throws IOException {
        List<String> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(train);
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            out.add(l.substring(0, l.length() - 1) + ", \"chosen_sentence_labels\": " + labels.apply(i) + "}");
        }
        Path f = dir.resolve(name);
        Files.write(f, out);
        return f;
    }

    @Test
    void oracleWeightsComeFromTheRecordsLabels(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 4);
        Path equal = withLabels(dir, train, "equal.jsonl", i -> "[1, 1]");
        Path mixed = withLabels(dir, train, "mixed.jsonl", i -> "[1, 0]");
        String[] common = {"max_steps", "3", "reference_mode", "frozen"};
        trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "output_dir", dir.resolve("dpo").toString())), Tiny.model(TOK, 3)).run(null);
        trainer(Trainer.Mode.ASPO, config(dir, equal, concat(common, "output_dir", dir.resolve("eq").toString(), "weights", "oracle")),
                Tiny.model(TOK, 3)).run(null);
        trainer(Trainer.Mode.ASPO, config(dir, mixed, concat(common, "output_dir", dir.resolve("mx").toString(), "weights", "oracle")),
                Tiny.model(TOK, 3)).run(null);
        List<ObjectNode> dpo = metrics(dir.resolve("dpo")), eq = metrics(dir.resolve("eq")), mx = metrics(dir.resolve("mx"));
        for (int s = 0; s < 3; s++) {
            // equal weights under mean normalisation are DPO exactly (docs/METHOD.md's invariant)
            assertEquals(dpo.get(s).get("loss").asDouble(), eq.get(s).get("loss").asDouble(), 1e-6);
            assertEquals(1.0, mx.get(s).get("aspo/weight_mean").asDouble() * 2, 1e-9);   // weights 1 and 0
        }
        assertTrue(Math.abs(dpo.get(2).get("loss").asDouble() - mx.get(2).get("loss").asDouble()) > 1e-6);

        Path none = dir.resolve("none-out");
        DatasetException missing = assertThrows(DatasetException.class, () -> trainer(Trainer.Mode.ASPO,
                config(dir, train, concat(common, "output_dir", none.toString(), "weights", "oracle")), Tiny.model(TOK, 3)).run(null));
        assertTrue(missing.getMessage().contains("train.jsonl:1") && missing.getMessage().contains("chosen_sentence_labels"),
                missing.getMessage());
        Path three = withLabels(dir, train, "three.jsonl", i -> i == 2 ? "[1, 0, 1]" : "[1, 1]");
        DatasetException count = assertThrows(DatasetException.class, () -> trainer(Trainer.Mode.ASPO,
                config(dir, three, concat(common, "output_dir", none.toString(), "weights", "oracle")), Tiny.model(TOK, 3)).run(null));
        assertTrue(count.getMessage().contains("three.jsonl:3") && count.getMessage().contains("3 labels for 2 sentences"), count.getMessage());
        Path bad = withLabels(dir, train, "bad.jsonl", i -> "[1, 2]");
        DatasetException range = assertThrows(DatasetException.class, () -> trainer(Trainer.Mode.ASPO,
                config(dir, bad, concat(common, "output_dir", none.toString(), "weights", "oracle")), Tiny.model(TOK, 3)).run(null));
        assertTrue(range.getMessage().contains("bad.jsonl:1") && range.getMessage().contains("[1]"), range.getMessage());
    }

    @Test
    void theNllTermWeightedBySentenceIsRposForDpoAndForEqualWeightsAndSparesZeroWeightSentences(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 4);
        Path equal = withLabels(dir, train, "equal.jsonl", i -> "[1, 1]");
        Path mixed = withLabels(dir, train, "mixed.jsonl", i -> "[1, 0]");
        String[] common = {"max_steps", "3", "reference_mode", "frozen", "nll_weight", "1"};
        java.util.function.BiFunction<String, String[], List<ObjectNode>> run = (name, kv) -> {
            try {
                Trainer.Mode mode = name.startsWith("dpo") ? Trainer.Mode.DPO : Trainer.Mode.ASPO;
                Path data = name.contains("equal") ? equal : name.contains("mixed") ? mixed : train;
                trainer(mode, config(dir, data, concat(concat(common, "output_dir", dir.resolve(name).toString()), kv)), Tiny.model(TOK, 3)).run(null);
                return metrics(dir.resolve(name));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        String[] sentence = {"nll_weighting", "sentence"};
        assertEquals(run.apply("dpo-uniform", new String[0]), run.apply("dpo-sentence", sentence), "DPO has no weights: the same run");
        assertEquals(run.apply("equal-uniform", new String[] {"weights", "oracle"}),
                run.apply("equal-sentence", concat(sentence, "weights", "oracle")), "every omega 1: the same run");
        List<ObjectNode> uniform = run.apply("mixed-uniform", new String[] {"weights", "oracle"});
        List<ObjectNode> weighted = run.apply("mixed-sentence", concat(sentence, "weights", "oracle"));
        // step 1 starts from the same model: the DPO part is equal; the NLL term weighs the two sentences
        // 4/3 and 2/3 (mean normalisation of weights 1 and 0) instead of 1 and 1
        assertEquals(uniform.get(0).get("rewards/margins").asDouble(), weighted.get(0).get("rewards/margins").asDouble(), 0);
        assertTrue(Math.abs(weighted.get(0).get("nll_loss").asDouble() - uniform.get(0).get("nll_loss").asDouble()) > 1e-4,
                weighted.get(0) + " against " + uniform.get(0));
    }

    @Test
    void frozenParametersStayAsTheyWere(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 6);
        LlamaForCausalLM model = Tiny.model(TOK, 3), before = Tiny.model(TOK, 3);
        trainer(Trainer.Mode.DPO, config(dir, train, "max_steps", "2", "freeze", "model.layers.0.self_attn., lm_head."), model).run(null);
        int frozen = 0, moved = 0;
        for (var e : model.namedParameters().entrySet()) {
            boolean same = java.util.Arrays.equals(e.getValue().toFloatArray(), before.namedParameters().get(e.getKey()).toFloatArray());
            if (e.getKey().startsWith("model.layers.0.self_attn.") || e.getKey().startsWith("lm_head.")) {
                assertTrue(same, e.getKey() + " is frozen but changed");
                frozen++;
            } else if (!same) {
                moved++;
            }
        }
        assertTrue(frozen >= 4 && moved > 0, frozen + " frozen, " + moved + " moved");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> trainer(Trainer.Mode.DPO,
                config(dir, train, "max_steps", "1", "freeze", "vision_tower.", "output_dir", dir.resolve("run2").toString()),
                Tiny.model(TOK, 3)).run(null));
        assertTrue(e.getMessage().contains("vision_tower."), e.getMessage());
    }

    /** {@code m}'s matrices (rank 2 or more) whose name passes {@code select}, rounded to bfloat16 in place (still float32). */
    private static void roundMatrices(LlamaForCausalLM m, java.util.function.Predicate<String> select) {
        for (var e : m.namedParameters().entrySet()) {
            Tensor t = e.getValue();
            if (t.rank() < 2 || !select.test(e.getKey())) continue;
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(v[i]));
            t.assign(Tensor.of(v, t.shape()));
        }
    }

    /**
     * {@code dtype: bfloat16} holds the reference model's matrices and the policy's frozen ones in
     * bfloat16 (the trained ones stay float32), and the run is bit for bit the float32 run whose
     * reference and frozen matrices hold the rounded values.
     */
    @Test
    void dtypeBfloat16HoldsTheFrozenMatricesInSixteenBitsAndTrainsAsOnTheRoundedWeights(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 6);
        String freeze = "model.layers.0.self_attn., lm_head.";
        java.util.function.Predicate<String> frozen = n -> n.startsWith("model.layers.0.self_attn.") || n.startsWith("lm_head.");
        String[] common = {"max_steps", "3", "freeze", freeze, "reference_mode", "frozen"};
        LlamaForCausalLM half = Tiny.model(TOK, 3);
        trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "dtype", "bfloat16", "output_dir", dir.resolve("bf16").toString())),
                half).run(null);
        for (var e : half.namedParameters().entrySet()) {
            boolean sixteen = frozen.test(e.getKey()) && e.getValue().rank() >= 2;
            assertEquals(sixteen ? Precision.BFLOAT16 : Precision.FLOAT32, e.getValue().precision(), e.getKey());
        }

        LlamaForCausalLM rounded = Tiny.model(TOK, 3), reference = Tiny.model(TOK, 3);
        roundMatrices(rounded, frozen);
        roundMatrices(reference, n -> true);
        trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "output_dir", dir.resolve("f32").toString())), rounded, reference)
                .run(null);
        List<ObjectNode> a = metrics(dir.resolve("bf16")), b = metrics(dir.resolve("f32"));
        assertEquals(3, a.size());
        assertEquals(b, a, "the same losses, margins and gradient norms, bit for bit");
        assertTrue(a.get(0).get("loss").asDouble() != a.get(2).get("loss").asDouble(), "the run trained");
        for (var e : half.namedParameters().entrySet()) {
            assertArrayEquals(rounded.namedParameters().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), 0f, e.getKey());
        }
    }

    @Test
    void aKilledAndResumedRunMatchesAnUninterruptedOneBitForBit(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 7, 2);   // 7 records, batch 2: epochs end mid-step
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.ASPO, Trainer.Mode.DPO}) {
            Path a = dir.resolve(mode.key() + "-a"), b = dir.resolve(mode.key() + "-b");
            String[] common = {"max_steps", "9", "save_every", "4", "grad_accum", "2", "warmup_steps", "2",
                    "reference_mode", mode == Trainer.Mode.DPO ? "frozen" : "cached"};
            LlamaForCausalLM ma = Tiny.model(TOK, 3);
            trainer(mode, config(dir, train, concat(common, "output_dir", a.toString())), ma).run(null);

            Trainer killed = trainer(mode, config(dir, train, concat(common, "output_dir", b.toString())), Tiny.model(TOK, 3));
            killed.stopAfterStep = 6;   // as if killed during step 7: the last checkpoint is checkpoint-4
            assertThrows(TrainingLoop.Killed.class, () -> killed.run(null));
            assertTrue(Files.isDirectory(b.resolve("checkpoint-4")));
            assertEquals(6, metrics(b).size());
            // a different starting policy: its weights must come from the checkpoint (the reference is the run's initial model,
            // as the CLI loads it from the config's reference/model directory)
            LlamaForCausalLM mb = Tiny.model(TOK, 99);
            Trainer.Result r = trainer(mode, config(dir, train, concat(common, "output_dir", b.toString())), mb, Tiny.model(TOK, 3))
                    .run(b);
            assertEquals(9, r.steps());

            assertEquals(metrics(a), metrics(b));
            for (var e : ma.namedParameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), mb.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void gradientCheckpointingGivesTheSameRunBitForBit(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 7, 2);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.SFT}) {
            Path data = mode == Trainer.Mode.SFT ? sftFile(dir) : train;
            LlamaForCausalLM plain = Tiny.model(TOK, 3), ckpt = Tiny.model(TOK, 3);
            String[] common = {"max_steps", "5", "grad_accum", "2", "reference_mode", "frozen"};
            trainer(mode, config(dir, data, concat(common, "output_dir", dir.resolve(mode.key() + "-plain").toString())), plain).run(null);
            trainer(mode, config(dir, data, concat(common, "output_dir", dir.resolve(mode.key() + "-ckpt").toString(),
                    "gradient_checkpointing", "true")), ckpt).run(null);
            assertTrue(ckpt.gradientCheckpointing());
            assertEquals(metrics(dir.resolve(mode.key() + "-plain")), metrics(dir.resolve(mode.key() + "-ckpt")));
            for (var e : plain.namedParameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), ckpt.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
            }
        }
    }

    private static Path sftFile(Path dir) throws IOException {
        Path f = dir.resolve("sft.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add("{\"prompt\": \"Describe the " + Tiny.SHAPES[i % 4] + ".\", \"response\": \"A " + Tiny.COLOURS[i % 4] + " "
                    + Tiny.SHAPES[i % 4] + ". It is small.\"}");
        }
        Files.write(f, lines);
        return f;
    }

    @Test
    void checkpointsAreShardedWithMaxShardSizeAndResumeFromTheirShards(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 3);
        String[] common = {"max_steps", "4", "save_every", "2", "max_shard_size", "4KB"};
        Path a = dir.resolve("a"), b = dir.resolve("b");
        LlamaForCausalLM ma = Tiny.model(TOK, 3);
        trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "output_dir", a.toString())), ma).run(null);
        Path ckpt = a.resolve("checkpoint-4");
        assertTrue(Files.isRegularFile(ckpt.resolve(Weights.INDEX)) && !Files.exists(ckpt.resolve(Weights.FILE)), ckpt.toString());
        try (var files = Files.list(ckpt)) {
            assertTrue(files.filter(f -> f.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 2);
        }
        LlamaForCausalLM saved = LlamaForCausalLM.load(ckpt);
        for (var e : ma.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), saved.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
        }

        Trainer killed = trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "output_dir", b.toString())), Tiny.model(TOK, 3));
        killed.stopAfterStep = 3;
        assertThrows(TrainingLoop.Killed.class, () -> killed.run(null));
        LlamaForCausalLM mb = Tiny.model(TOK, 99);
        trainer(Trainer.Mode.DPO, config(dir, train, concat(common, "output_dir", b.toString())), mb, Tiny.model(TOK, 3)).run(b);
        assertEquals(metrics(a), metrics(b));
        for (var e : ma.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), mb.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
        }
    }

    @Test
    void sftLowersTheResponseLoss(@TempDir Path dir) throws IOException {
        Path train = dir.resolve("sft.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            lines.add("{\"prompt\": \"Describe the " + Tiny.SHAPES[i % 4] + ".\", \"response\": \"A " + Tiny.COLOURS[i % 4] + " "
                    + Tiny.SHAPES[i % 4] + ". It is small.\"}");
        }
        Files.write(train, lines);
        Path out = dir.resolve("sft");
        trainer(Trainer.Mode.SFT, config(dir, train, "max_steps", "30", "output_dir", out.toString()), Tiny.model(TOK, 1)).run(null);
        List<ObjectNode> m = metrics(out);
        assertEquals(30, m.size());
        assertTrue(m.get(29).get("loss").asDouble() < 0.5 * m.get(0).get("loss").asDouble(), m.get(0) + " / " + m.get(29));
    }

    @Test
    void aNonFiniteValueStopsNamingTheStepAndRecord(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 5);
        LlamaForCausalLM model = Tiny.model(TOK, 1);
        Tensor w = model.namedParameters().get("model.norm.weight");
        float[] v = w.toFloatArray();
        v[0] = Float.NaN;
        model.copyFrom("model.norm.weight", Tensor.of(v, w.shape()));
        Trainer t = new Trainer(Trainer.Mode.DPO, config(dir, train, "max_steps", "3", "batch_size", "1"), new LlamaPolicy(model),
                new LlamaPolicy(Tiny.model(TOK, 1)), TOK, null, new PrintStream(new ByteArrayOutputStream()));
        TrainingStopped e = assertThrows(TrainingStopped.class, () -> t.run(null));
        assertEquals(1, e.step);
        assertTrue(e.getMessage().startsWith("step 1: non-finite log-prob"), e.getMessage());
        assertTrue(e.getMessage().matches(".*in record .*train\\.jsonl:\\d \\(chosen\\).*"), e.getMessage());
    }

    @Test
    void badRecordsStopTheRunUnlessSkipped(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 5);
        List<String> lines = new ArrayList<>(Files.readAllLines(train));
        lines.add(1, "{\"prompt\": \"p\", \"chosen\": \"\", \"rejected\": \"b\"}");
        lines.add("{\"prompt\": \"p\", \"chosen\": \"" + "A red cube. ".repeat(80) + "\", \"rejected\": \"b\"}");
        Files.write(train, lines);
        var e = assertThrows(dev.aspo.method.data.DatasetException.class,
                () -> trainer(Trainer.Mode.DPO, config(dir, train, "max_steps", "1"), Tiny.model(TOK, 1)).run(null));
        assertTrue(e.getMessage().startsWith(train + ":2: empty \"chosen\""), e.getMessage());
        Trainer.Result r = trainer(Trainer.Mode.DPO, config(dir, train, "max_steps", "1", "skip_bad_records", "true",
                "max_length", "64"), Tiny.model(TOK, 1)).run(null);
        assertEquals(2, r.skippedRecords());   // the empty response and the one over max_length
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
