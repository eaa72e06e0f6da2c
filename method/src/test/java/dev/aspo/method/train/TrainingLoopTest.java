package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Record;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.LrSchedule;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loop every trainer shares, on a task whose every number can be worked out by hand. */
class TrainingLoopTest {

    // ---- a task with one weight -----------------------------------------------------------------

    /**
     * One weight {@code w}; record i carries the number {@code x[i]}. A micro-batch's loss is
     * {@code w * mean(x)} over its records, so the gradient of a step is the mean of {@code x} over
     * the step's records exactly when the loop weights each micro-batch by its share of them.
     */
    private static final class OneWeight implements TrainingTask {
        final Tensor w;
        final double[] x, evalX;
        /** Every call: {step, share, records...} for training; {step, -1, records...} for evaluation. */
        final List<double[]> calls = new ArrayList<>();
        /** {@code w} at the start of each step. */
        final List<Float> before = new ArrayList<>();
        boolean evaluatedWithGradients;

        OneWeight(float w0, double[] x, double[] evalX) {
            this.w = Tensor.of(new float[] {w0}, 1).requiresGrad(true);
            this.x = x;
            this.evalX = evalX;
        }

        private static double mean(double[] values, int[] idx) {
            double s = 0;
            for (int i : idx) s += values[i];
            return s / idx.length;
        }

        private void log(long step, double share, int[] idx) {
            double[] c = new double[idx.length + 2];
            c[0] = step;
            c[1] = share;
            for (int j = 0; j < idx.length; j++) c[j + 2] = idx[j];
            calls.add(c);
        }

        @Override
        public MicroResult forwardBackward(int[] idx, long step, float share) {
            if (before.size() < step) before.add(w.item());
            log(step, share, idx);
            double m = mean(x, idx);
            Tensor loss = Arithmetic.scale(w, (float) m);
            Arithmetic.scale(loss, share).backward();
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("loss", (double) loss.item());
            metrics.put("aspo/ratio_fallbacks", 1.0);
            metrics.put("aspo/omega_max", Arrays.stream(idx).mapToDouble(i -> x[i]).max().orElseThrow());
            return new MicroResult(metrics, 10L * idx.length);
        }

        @Override
        public Map<String, Double> evaluate(int[] idx, long step) {
            log(step, -1, idx);
            evaluatedWithGradients |= Autograd.enabled();
            return Map.of("loss", w.item() * mean(evalX, idx));
        }

        @Override
        public Map<String, Object> afterOptimizerStep() {
            return Map.of("w", (double) w.item());
        }

        /** What a checkpoint holds of this model: {@code w} in a file of its own. */
        Checkpoints.Weights weights() {
            return new Checkpoints.Weights() {
                @Override
                public void save(Path dir) throws IOException {
                    Files.writeString(dir.resolve("w.txt"), Integer.toString(Float.floatToIntBits(w.item())));
                }

                @Override
                public void load(Path checkpoint) throws IOException {
                    float v = Float.intBitsToFloat(Integer.parseInt(Files.readString(checkpoint.resolve("w.txt"))));
                    Tensor src = Tensor.of(new float[] {v}, 1);
                    w.backend().copy2d(src.storage(), 0, 1, w.storage(), 0, 1, 1, 1, false);
                }
            };
        }
    }

    private static final double[] X = {1, 2, 3, 4, 5}, EVAL_X = {10, 20, 30};

    private static List<Record> records(int n, String file) {
        List<Record> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new Record(Path.of(file), i + 1, List.of(), "p", null, null, "r"));
        return out;
    }

    /** 5 records in micro-batches of 2, two per step: 2+2 records, or 1+2 or 2+1 where an epoch ends. */
    private static final String[] SETTINGS = {"batch_size", "2", "grad_accum", "2", "max_steps", "7", "lr", "0.1", "warmup_steps", "2",
            "max_grad_norm", "0", "log_every", "2", "eval_every", "3", "save_every", "4", "seed", "5", "progress", "none"};

    /** {@link #SETTINGS} into {@code out}, with {@code kv} (key, value, ...) over them. */
    private static TrainConfig config(Path out, String... kv) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("output_dir", out.toString());
        for (String[] pairs : List.of(SETTINGS, kv)) for (int i = 0; i < pairs.length; i += 2) o.put(pairs[i], pairs[i + 1]);
        return TrainConfig.of(o);
    }

    private record Run(TrainingLoop.Outcome outcome, String console) {}

    private static Run run(TrainConfig cfg, OneWeight task, Path resume, long stopAfter) throws IOException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(console, true);
        Path out = RunDirectory.open(cfg, resume, ps);
        AdamW opt = new AdamW(Map.of("w", task.w), cfg.adamW(), name -> false);
        TrainingLoop loop = new TrainingLoop(cfg, out, ps, StepListener.NONE);
        loop.stopAfterStep = stopAfter;
        List<Record> eval = task.evalX.length == 0 ? List.of() : records(task.evalX.length, "eval.jsonl");
        Checkpoints checkpoints = new Checkpoints(out, "test", cfg, task.weights(), null);
        try {
            return new Run(loop.run(resume, task, records(task.x.length, "train.jsonl"), eval, opt, checkpoints), console.toString());
        } catch (TrainingLoop.Killed e) {
            return new Run(null, console.toString());
        }
    }

    /** The metrics lines, without the one field that is a timing ({@code tokens_per_s}). */
    private static List<ObjectNode> lines(Path out) throws IOException {
        return TrainerTest.metrics(out);
    }

    // ---- a step ---------------------------------------------------------------------------------

    @Test
    void aStepTakesGradAccumMicroBatchesInTheEpochsOrderEachWeightedByItsShareOfTheRecords(@TempDir Path dir) throws IOException {
        OneWeight task = new OneWeight(0.5f, X, new double[0]);
        run(config(dir.resolve("run")), task, null, -1);
        // a micro-batch ends where an epoch ends: 2+2 | 1+2 | 2+1 | 2+2 | 1+2 | 2+1 | 2+2 records
        int[] sizes = task.calls.stream().mapToInt(c -> c.length - 2).toArray();
        assertArrayEquals(new int[] {2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2, 1, 2, 2}, sizes);
        List<Integer> seen = new ArrayList<>(), expected = new ArrayList<>();
        for (double[] c : task.calls) for (int j = 2; j < c.length; j++) seen.add((int) c[j]);
        for (int e = 0; e < 5; e++) for (int i : EpochCursor.permutation(5, 5, e)) expected.add(i);   // the seeded orders
        assertEquals(expected.subList(0, 24), seen);
        for (int i = 0; i < sizes.length; i += 2) {
            int records = sizes[i] + sizes[i + 1];
            assertEquals(sizes[i] / (float) records, task.calls.get(i)[1], 0, "step " + (i / 2 + 1));
            assertEquals(sizes[i + 1] / (float) records, task.calls.get(i + 1)[1], 0, "step " + (i / 2 + 1));
        }
    }

    @Test
    void theGradientOfAStepIsTheMeanOverItsRecordsAndAStepStartsFromZero(@TempDir Path dir) throws IOException {
        OneWeight task = new OneWeight(0.5f, X, new double[0]);
        Path out = dir.resolve("run");
        run(config(out, "log_every", "1"), task, null, -1);
        List<ObjectNode> m = lines(out);
        assertEquals(7, m.size());
        for (int s = 1; s <= 7; s++) {
            List<Integer> records = new ArrayList<>();
            for (double[] c : task.calls) if (c[0] == s) for (int j = 2; j < c.length; j++) records.add((int) c[j]);
            double mean = records.stream().mapToDouble(i -> X[i]).average().orElseThrow();
            assertEquals(mean, m.get(s - 1).get("grad_norm").asDouble(), 1e-6, "step " + s);   // d(w * mean x)/dw, not clipped
            // the logged loss: the micro-batches' losses weighted by their records
            assertEquals(task.before.get(s - 1) * mean, m.get(s - 1).get("loss").asDouble(), 1e-6, "step " + s);
        }
    }

    @Test
    void aMetricsLineHasTheStepTheTasksMetricsThenGradNormLrAndSpeed(@TempDir Path dir) throws IOException {
        OneWeight task = new OneWeight(0.5f, X, new double[0]);
        Path out = dir.resolve("run");
        run(config(out), task, null, -1);
        List<String> keys = new ArrayList<>();
        new ObjectMapper().readTree(Files.readAllLines(out.resolve(RunDirectory.METRICS)).get(0)).fieldNames().forEachRemaining(keys::add);
        List<ObjectNode> m = lines(out);
        assertEquals(List.of("step", "epoch", "loss", "aspo/ratio_fallbacks", "aspo/omega_max", "w", "grad_norm", "lr", "tokens_per_s"),
                keys);
        ObjectNode step2 = m.get(0);
        assertEquals(2, step2.get("step").asLong());
        assertEquals(1 + 2 / 5.0, step2.get("epoch").asDouble(), 1e-12);   // 4 + 3 records: epoch 0 and 2 of the 5 of epoch 1
        assertEquals(2, step2.get("aspo/ratio_fallbacks").asDouble());     // a count: summed over the micro-batches
        double max = 0;
        for (double[] c : task.calls) if (c[0] == 2) for (int j = 2; j < c.length; j++) max = Math.max(max, X[(int) c[j]]);
        assertEquals(max, step2.get("aspo/omega_max").asDouble());         // a maximum: kept
        assertEquals(task.w.item(), m.get(m.size() - 1).get("w").asDouble(), 0);   // the task's metrics of the new weights
        assertEquals(LrSchedule.cosineWithWarmup(0.1, 2, 7).lr(1), step2.get("lr").asDouble(), 0);   // step 2 is update 1
    }

    // ---- cadence --------------------------------------------------------------------------------

    @Test
    void metricsEvaluationAndCheckpointsComeEveryNStepsAndAtTheEnd(@TempDir Path dir) throws IOException {
        OneWeight task = new OneWeight(0.5f, X, EVAL_X);
        Path out = dir.resolve("run");
        TrainingLoop.Outcome o = run(config(out), task, null, -1).outcome();
        assertEquals(7, o.steps());
        assertEquals(out.resolve("checkpoint-7"), o.lastCheckpoint());
        List<String> order = new ArrayList<>();
        for (ObjectNode l : lines(out)) order.add((l.has("eval_loss") ? "eval " : "") + l.get("step").asLong());
        assertEquals(List.of("2", "eval 3", "4", "6", "eval 6", "7", "eval 7"), order);   // log_every 2, eval_every 3, and the last
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("checkpoint-4", "checkpoint-7", RunDirectory.METRICS, RunDirectory.CONFIG),
                    s.map(p -> p.getFileName().toString()).sorted().toList());   // save_every 4, and the last; nothing temporary left
        }
        for (String f : new String[] {"w.txt", Checkpoints.OPTIMIZER, Checkpoints.STATE}) {
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-4").resolve(f)), f);
        }
        assertEquals(4, TrainerState.read(out.resolve("checkpoint-4")).step());
    }

    @Test
    void evaluationTakesTheRecordsInOrderBatchSizeAtATimeWithoutGradients(@TempDir Path dir) throws IOException {
        OneWeight task = new OneWeight(0.5f, X, EVAL_X);
        Path out = dir.resolve("run");
        run(config(out, "max_steps", "3", "eval_every", "0"), task, null, -1);
        List<double[]> evals = task.calls.stream().filter(c -> c[1] == -1).toList();
        assertEquals(2, evals.size());                                     // only at the end: records 0, 1 then 2
        assertArrayEquals(new double[] {3, -1, 0, 1}, evals.get(0));
        assertArrayEquals(new double[] {3, -1, 2}, evals.get(1));
        assertFalse(task.evaluatedWithGradients);
        List<ObjectNode> m = lines(out);
        ObjectNode ev = m.get(m.size() - 1);
        assertEquals(task.w.item() * 20, ev.get("eval_loss").asDouble(), 1e-5);   // record-weighted: (2 * 15 + 1 * 30) / 3 = 20
    }

    // ---- stops and resumes ----------------------------------------------------------------------

    @Test
    void aNonFiniteGradientNormStopsBeforeTheOptimiserStepNamingTheStepsRecords(@TempDir Path dir) throws IOException {
        double[] x = X.clone();
        x[EpochCursor.permutation(5, 5, 0)[2]] = Double.NaN;   // a record of step 1's second micro-batch
        OneWeight task = new OneWeight(0.5f, x, new double[0]);
        TrainingStopped e = assertThrows(TrainingStopped.class, () -> run(config(dir.resolve("run")), task, null, -1));
        assertEquals(1, e.step);
        assertTrue(e.getMessage().startsWith("step 1: the gradient norm is NaN; records of this step: train.jsonl:"), e.getMessage());
        assertEquals(4, e.getMessage().split("train\\.jsonl:").length - 1, e.getMessage());
        assertEquals(0.5f, task.w.item());                                 // no update
    }

    @Test
    void aRunKilledAfterACheckpointAndResumedEqualsOneThatWasNotKilled(@TempDir Path dir) throws IOException {
        OneWeight a = new OneWeight(0.5f, X, EVAL_X);
        run(config(dir.resolve("a")), a, null, -1);

        Path b = dir.resolve("b");
        assertEquals(null, run(config(b), new OneWeight(0.5f, X, EVAL_X), null, 6).outcome());   // killed after step 6
        List<ObjectNode> written = lines(b);
        assertEquals(6, written.get(written.size() - 1).get("step").asLong());
        assertEquals(b.resolve("checkpoint-4"), Checkpoints.latest(b));
        OneWeight resumed = new OneWeight(-3f, X, EVAL_X);                 // its weight must come from checkpoint-4
        Run r = run(config(b), resumed, b, -1);
        assertTrue(r.console().contains("resumed from " + b.resolve("checkpoint-4") + " at step 4"), r.console());
        assertEquals(7, r.outcome().steps());

        assertEquals(lines(dir.resolve("a")), lines(b));                   // lines after step 4 rewritten, not repeated
        assertEquals(a.w.item(), resumed.w.item(), 0);
        List<double[]> after4 = a.calls.stream().filter(c -> c[0] > 4).toList();
        assertEquals(after4.size(), resumed.calls.size());
        for (int i = 0; i < after4.size(); i++) assertArrayEquals(after4.get(i), resumed.calls.get(i));   // the same records
    }

    @Test
    void resumingNeedsACompleteCheckpoint(@TempDir Path dir) throws IOException {
        Path b = dir.resolve("b");
        run(config(b, "save_every", "0"), new OneWeight(0.5f, X, EVAL_X), null, 3);   // killed before any checkpoint
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(config(b), new OneWeight(0.5f, X, EVAL_X), b, -1));
        assertEquals(b + ": no complete checkpoint-<step> directory to resume from", e.getMessage());
    }
}
