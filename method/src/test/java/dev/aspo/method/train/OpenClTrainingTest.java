package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 50 DPO and 50 ASPO steps on the OpenCL device give the losses of the same run on the CPU within
 * 1e-3 (the accelerator issue's check): a tiny Llama, and the smoke study's configuration (its
 * LLaVA with the frozen CLIP tower at 96 px, shapes-world pairs, CLIP similarities, its batch,
 * learning rate and beta). Skipped without an OpenCL platform unless
 * {@code ASPO_OPENCL_REQUIRED=1} (CI sets it and installs PoCL).
 */
class OpenClTrainingTest {
    private static final Tokenizer TOK = Tiny.tokenizer();

    @AfterEach
    void backToCpu() {
        Backends.use(Backends.cpu());
    }

    private static List<ObjectNode> run(Trainer.Mode mode, Backend backend, Path train, Path out) throws IOException {
        Backends.use(backend);
        TrainConfig cfg = TrainConfig.of(Map.of("train_file", train.toString(), "output_dir", out.toString(), "batch_size", "2",
                "lr", "3e-3", "beta", "0.5", "max_steps", "50", "progress", "none"));
        new Trainer(mode, cfg, new LlamaPolicy(Tiny.model(TOK, 7)), null, TOK,
                mode == Trainer.Mode.ASPO ? TrainerTest.TEXT_SIMILARITY : null, new PrintStream(new ByteArrayOutputStream()))
                .run(null);
        return TrainerTest.metrics(out);
    }

    /** Shapes-world pairs: the chosen answer describes the record's scene, the rejected one the next scene. */
    private static Path smokePairs(Path dir) throws IOException {
        Path world = dir.resolve("world");
        dev.aspo.method.world.WorldWriter.write(world, 24, 3, dev.aspo.method.study.StudyModels.IMAGE_SIZE);
        java.util.List<dev.aspo.method.world.Scene> scenes = new java.util.ArrayList<>();
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String l : java.nio.file.Files.readAllLines(world.resolve("scenes.jsonl"))) {
            scenes.add(dev.aspo.method.world.Scene.fromJson(json.readTree(l).get("scene")));
        }
        dev.aspo.method.world.Describer d = new dev.aspo.method.world.Describer(new java.util.Random(5));
        List<String> lines = new java.util.ArrayList<>();
        for (int i = 0; i < scenes.size(); i++) {
            com.fasterxml.jackson.databind.node.ObjectNode o = json.createObjectNode();
            o.putArray("images").add(String.format("world/images/%06d.png", i));
            o.put("prompt", "Describe the image.");
            o.put("chosen", d.describe(scenes.get(i)));
            o.put("rejected", d.describe(scenes.get((i + 1) % scenes.size())));
            lines.add(o.toString());
        }
        Path f = dir.resolve("pairs.jsonl");
        java.nio.file.Files.write(f, lines);
        return f;
    }

    private static List<ObjectNode> smokeRun(Trainer.Mode mode, Backend backend, Path train, Tokenizer tok, Path out) throws IOException {
        Backends.use(backend);
        dev.aspo.method.study.StudyScale smoke = dev.aspo.method.study.StudyScale.SMOKE;
        TrainConfig cfg = TrainConfig.of(Map.of("train_file", train.toString(), "output_dir", out.toString(),
                "batch_size", String.valueOf(smoke.prefBatch()), "lr", String.valueOf(smoke.prefLr()), "beta", "0.1",
                "max_steps", "50", "progress", "none", "freeze", "vision_tower.", "cache_dir", out.resolve("cache").toString()));
        var clip = dev.aspo.method.study.StudyModels.clip(tok, 2);
        var llava = dev.aspo.method.study.StudyModels.llava(tok, clip, 4);
        var proc = dev.aspo.models.image.ClipImageProcessor.clip(dev.aspo.method.study.StudyModels.IMAGE_SIZE);
        SimilaritySource sim = mode == Trainer.Mode.ASPO ? new ClipSimilarity(clip, tok, proc, null) : null;
        new Trainer(mode, cfg, new LlavaPolicy(llava, proc), null, tok, sim, new PrintStream(new ByteArrayOutputStream())).run(null);
        return TrainerTest.metrics(out);
    }

    /** Both runs logged 50 steps whose losses agree within 1e-3; returns the largest gap. */
    private static double worstLossGap(Trainer.Mode mode, List<ObjectNode> cpu, List<ObjectNode> cl) {
        assertEquals(50, cpu.size());
        assertEquals(50, cl.size());
        double worst = 0;
        for (int i = 0; i < 50; i++) {
            double a = cpu.get(i).get("loss").asDouble(), b = cl.get(i).get("loss").asDouble();
            worst = Math.max(worst, Math.abs(a - b));
            assertTrue(Math.abs(a - b) <= 1e-3, mode + " step " + (i + 1) + ": cpu loss " + a + ", opencl " + b);
        }
        return worst;
    }

    @Test
    void fiftyStepsOfTheSmokeConfigurationGiveTheCpuLosses(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path train = smokePairs(dir);
        List<String> corpus = new java.util.ArrayList<>();
        for (String l : java.nio.file.Files.readAllLines(train)) corpus.add(l);
        Tokenizer tok = dev.aspo.method.study.StudyModels.tokenizer(corpus);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            List<ObjectNode> cpu = smokeRun(mode, Backends.cpu(), train, tok, dir.resolve(mode.key() + "-cpu"));
            List<ObjectNode> cl = smokeRun(mode, opencl, train, tok, dir.resolve(mode.key() + "-opencl"));
            double worst = worstLossGap(mode, cpu, cl);
            // the run must move, or equal losses would prove nothing: the margin grows from 0
            assertTrue(cpu.get(49).get("rewards/margins").asDouble() > 0.01, mode + ": margin " + cpu.get(49).get("rewards/margins"));
            System.out.println("smoke configuration, " + mode + ": worst |loss(cpu) - loss(opencl)| over 50 steps = " + worst);
        }
    }

    /**
     * {@code task_graph: true}: SFT of the smoke study's LLaVA with two micro-batches per step
     * and an epoch whose last micro-batch is short; the steps replayed from the recorded plan give
     * the losses, gradient norms and final weights of the same run done eagerly (whose batches are
     * padded to the longest row, not to max_length: the same numbers, as masked positions change
     * nothing).
     */
    @Test
    void sftStepsReplayedAsATaskGraphGiveTheEagerRun(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path world = dir.resolve("world");
        dev.aspo.method.world.WorldWriter.write(world, 8, 5, dev.aspo.method.study.StudyModels.IMAGE_SIZE);
        List<String> corpus = new java.util.ArrayList<>(java.nio.file.Files.readAllLines(world.resolve("sft.jsonl")));
        Tokenizer tok = dev.aspo.method.study.StudyModels.tokenizer(corpus);
        Map<String, float[]> weights = new java.util.HashMap<>();
        List<List<ObjectNode>> runs = new java.util.ArrayList<>();
        long replayed = 0;
        for (String graph : new String[] {"false", "true"}) {
            Backends.use(opencl);
            Path out = dir.resolve("sft-" + graph);
            TrainConfig cfg = TrainConfig.of(Map.ofEntries(Map.entry("train_file", world.resolve("sft.jsonl").toString()),
                    Map.entry("output_dir", out.toString()), Map.entry("batch_size", "3"), Map.entry("grad_accum", "2"),
                    Map.entry("lr", "1e-3"), Map.entry("max_steps", "9"), Map.entry("max_length", "96"),
                    Map.entry("progress", "none"), Map.entry("freeze", "vision_tower."), Map.entry("task_graph", graph)));
            var llava = dev.aspo.method.study.StudyModels.llava(tok, dev.aspo.method.study.StudyModels.clip(tok, 2), 4);
            var proc = dev.aspo.models.image.ClipImageProcessor.clip(dev.aspo.method.study.StudyModels.IMAGE_SIZE);
            Trainer t = new Trainer(Trainer.Mode.SFT, cfg, new LlavaPolicy(llava, proc), null, tok, null,
                    new PrintStream(new ByteArrayOutputStream()));
            t.run(null);
            if (graph.equals("true")) replayed = t.replayedSteps;
            runs.add(TrainerTest.metrics(out));
            for (var e : llava.namedParameters().entrySet()) {
                float[] w = e.getValue().toFloatArray();
                float[] before = weights.putIfAbsent(e.getKey(), w);
                if (before != null) {
                    for (int i = 0; i < w.length; i++) {
                        assertTrue(Math.abs(w[i] - before[i]) <= 1e-5 * Math.max(1, Math.abs(before[i])),
                                e.getKey() + "[" + i + "]: eager " + before[i] + ", replayed " + w[i]);
                    }
                }
            }
        }
        // 40 records (5 per scene), micro-batches of 3, 2 a step: steps 1-6 take [3, 3], step 7 [3, 1]
        // (the epoch's last record), then [3, 3] again. Step 1 eager, 2-3 recorded, 4-6 replayed, 7 eager
        // (another shape: the plan is dropped), 8-9 recorded again
        assertEquals(3, replayed, "replayed steps");
        assertEquals(9, runs.get(0).size());
        for (int i = 0; i < 9; i++) {
            for (String k : new String[] {"loss", "grad_norm"}) {
                double a = runs.get(0).get(i).get(k).asDouble(), b = runs.get(1).get(i).get(k).asDouble();
                assertTrue(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a)), "step " + (i + 1) + " " + k + ": eager " + a
                        + ", replayed " + b);
            }
        }
    }

    /**
     * {@code task_graph: true} for DPO and ASPO on the smoke study's pairs and LLaVA (CLIP
     * similarities, cached reference log-probs): the replayed steps give the eager run's losses,
     * rewards, margins and sentence-weight metrics.
     */
    @Test
    void dpoAndAspoStepsReplayedAsATaskGraphGiveTheEagerRun(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path train = smokePairs(dir);
        List<String> corpus = new java.util.ArrayList<>(java.nio.file.Files.readAllLines(train));
        Tokenizer tok = dev.aspo.method.study.StudyModels.tokenizer(corpus);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            List<List<ObjectNode>> runs = new java.util.ArrayList<>();
            long replayed = 0;
            for (String graph : new String[] {"false", "true"}) {
                Backends.use(opencl);
                Path out = dir.resolve(mode.key() + "-graph-" + graph);
                Map<String, String> kv = new java.util.LinkedHashMap<>();
                String[] pairs = {"train_file", train.toString(), "output_dir", out.toString(), "batch_size", "4", "lr", "1e-3",
                    "beta", "0.1", "max_steps", "8", "max_length", "96", "progress", "none", "freeze", "vision_tower.",
                    "cache_dir", out.resolve("cache").toString(), "task_graph", graph};
                for (int p = 0; p < pairs.length; p += 2) kv.put(pairs[p], pairs[p + 1]);
                TrainConfig cfg = TrainConfig.of(kv);
                var clip = dev.aspo.method.study.StudyModels.clip(tok, 2);
                var llava = dev.aspo.method.study.StudyModels.llava(tok, clip, 4);
                var proc = dev.aspo.models.image.ClipImageProcessor.clip(dev.aspo.method.study.StudyModels.IMAGE_SIZE);
                SimilaritySource sim = mode == Trainer.Mode.ASPO ? new ClipSimilarity(clip, tok, proc, null) : null;
                Trainer t = new Trainer(mode, cfg, new LlavaPolicy(llava, proc), null, tok, sim,
                        new PrintStream(new ByteArrayOutputStream()));
                t.run(null);
                if (graph.equals("true")) replayed = t.replayedSteps;
                runs.add(TrainerTest.metrics(out));
            }
            // 24 pairs, 4 a step: step 1 eager, 2-3 recorded, 4-8 replayed
            assertEquals(5, replayed, mode + ": replayed steps");
            for (int i = 0; i < 8; i++) {
                ObjectNode a = runs.get(0).get(i), b = runs.get(1).get(i);
                for (var it = a.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    if (k.equals("tokens_per_s")) continue;
                    double x = a.get(k).asDouble(), y = b.get(k).asDouble();
                    assertTrue(Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x)),
                            mode + " step " + (i + 1) + " " + k + ": eager " + x + ", replayed " + y);
                }
            }
            assertTrue(runs.get(1).get(7).get("rewards/margins").asDouble() != 0, mode + ": the run moved");
        }
    }

    @Test
    void fiftyDpoAndAspoStepsGiveTheCpuLosses(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 16, 1);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            List<ObjectNode> cpu = run(mode, Backends.cpu(), train, dir.resolve(mode.key() + "-cpu"));
            List<ObjectNode> cl = run(mode, opencl, train, dir.resolve(mode.key() + "-opencl"));
            double worst = worstLossGap(mode, cpu, cl);
            assertTrue(cpu.get(49).get("loss").asDouble() < cpu.get(0).get("loss").asDouble(), mode + ": the loss falls");
            System.out.println(mode + ": worst |loss(cpu) - loss(opencl)| over 50 steps = " + worst);
        }
    }

    /**
     * LoRA adapters (no dropout) on the device, eagerly and replayed as a task graph: the CPU
     * run's metrics within 1e-5, the adapters' gradients and AdamW steps computed on the device.
     */
    @Test
    void loraAdaptersTrainOnTheDeviceEagerlyAndInATaskGraph(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 8, 4);
        List<List<ObjectNode>> runs = new java.util.ArrayList<>();
        long replayed = 0;
        for (String run : new String[] {"cpu", "opencl", "opencl-graph"}) {
            Backends.use(run.equals("cpu") ? Backends.cpu() : opencl);
            Path out = dir.resolve(run);
            Map<String, String> kv = new java.util.LinkedHashMap<>();
            String[] pairs = {"train_file", train.toString(), "output_dir", out.toString(), "batch_size", "2", "lr", "1e-2",
                "max_steps", "8", "max_length", "64", "progress", "none", "lora.r", "4",
                "lora.target_modules", "[\"q_proj\", \"v_proj\", \"down_proj\"]", "task_graph", String.valueOf(run.endsWith("graph"))};
            for (int p = 0; p < pairs.length; p += 2) kv.put(pairs[p], pairs[p + 1]);
            Trainer t = new Trainer(Trainer.Mode.DPO, TrainConfig.of(kv), new LlamaPolicy(Tiny.model(TOK, 7)), null, TOK, null,
                    new PrintStream(new ByteArrayOutputStream()));
            t.run(null);
            if (run.endsWith("graph")) replayed = t.replayedSteps;
            runs.add(TrainerTest.metrics(out));
        }
        assertEquals(5, replayed, "8 records, 2 a step: step 1 eager, 2-3 recorded, 4-8 replayed");
        for (int r = 1; r < 3; r++) {
            for (int i = 0; i < 8; i++) {
                ObjectNode a = runs.get(0).get(i), b = runs.get(r).get(i);
                for (var it = a.fieldNames(); it.hasNext(); ) {
                    String k = it.next();
                    double x = a.get(k).asDouble(), y = b.get(k).asDouble();
                    assertTrue(Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x)), "run " + r + " step " + (i + 1) + " " + k
                            + ": cpu " + x + ", opencl " + y);
                }
            }
        }
        assertTrue(runs.get(2).get(7).get("rewards/margins").asDouble() != 0, "the adapters moved");
    }
}
