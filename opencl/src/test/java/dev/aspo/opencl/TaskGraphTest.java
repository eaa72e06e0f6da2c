package dev.aspo.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.optim.AdamW;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A recorded step replays to exactly what eager steps compute: forward + backward with fixed
 * inputs, and a whole training step (zeroGrad, forward, backward, AdamW with a changing learning
 * rate) on new batches of token ids, targets and segment ids; and what a plan cannot replay is
 * refused at recording, naming why.
 */
class TaskGraphTest {
    private static OpenClBackend cl;

    @BeforeAll
    static void setUp() {
        cl = OpenClTestSupport.backend();
    }

    @AfterEach
    void restore() {
        Backends.use(Backends.cpu());
    }

    @Test
    void replayGivesTheRecordedResultsAgain() {
        Backends.use(cl);
        List<Tensor> p = AutogradParityTest.params();
        AtomicReference<Tensor> loss = new AtomicReference<>();
        try (TaskGraph.Plan<Void> plan = TaskGraph.record(cl, () -> {
            Tensor l = AutogradParityTest.loss(p);
            l.backward();
            loss.set(l);
        })) {
            assertTrue(plan.size() > 50, "a transformer block's step is many commands: " + plan.size());
            // the buffers it holds count as live device memory (at least the parameters' gradients)
            long gradBytes = 0;
            for (Tensor t : p) gradBytes += 4L * t.numel();
            assertTrue(plan.heldBytes() >= gradBytes, plan.heldBytes() + " bytes held, gradients alone " + gradBytes);
            long live = cl.liveBytes();
            float first = loss.get().item();
            float[][] grads = grads(p);
            for (int rep = 0; rep < 2; rep++) {
                plan.execute();
                assertEquals(first, loss.get().item(), 0f, "replayed loss");
                float[][] again = grads(p);
                // bit-identical, and not doubled: the replay zeroes the gradients it accumulates into
                for (int i = 0; i < grads.length; i++) assertArrayEquals(grads[i], again[i], 0f, "gradient " + i);
            }
            plan.close();
            // (the collector may free other storages meanwhile: the count only falls further)
            assertTrue(cl.liveBytes() <= live - plan.heldBytes(), "closing gives the plan's bytes back");
        }
    }

    @Test
    void replayedTrainingMatchesEagerTraining() {
        Backends.use(cl);
        int steps = 4;
        // eager: the usual loop
        List<Tensor> pe = AutogradParityTest.params();
        AdamW oe = new AdamW(pe, AdamW.Options.of(1e-2));
        float[] eager = new float[steps];
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            oe.zeroGrad();
            Tensor l = AutogradParityTest.loss(pe);
            l.backward();
            oe.step();
            eager[s] = l.item();
        }
        long eagerNs = System.nanoTime() - t0;

        // recorded: step 1 records forward + backward, later steps replay it; the optimiser runs outside
        List<Tensor> pr = AutogradParityTest.params();
        AdamW or = new AdamW(pr, AdamW.Options.of(1e-2));
        float[] replayed = new float[steps];
        AtomicReference<Tensor> loss = new AtomicReference<>();
        or.zeroGrad();
        try (TaskGraph.Plan<Void> plan = TaskGraph.record(cl, () -> {
            Tensor l = AutogradParityTest.loss(pr);
            l.backward();
            loss.set(l);
        })) {
            or.step();
            replayed[0] = loss.get().item();
            long t1 = System.nanoTime();
            for (int s = 1; s < steps; s++) {
                plan.execute();
                or.step();
                replayed[s] = loss.get().item();
            }
            long replayNs = System.nanoTime() - t1;
            System.out.printf("task graph: %d commands; eager %.2f ms/step, replay %.2f ms/step%n", plan.size(),
                    eagerNs / 1e6 / steps, replayNs / 1e6 / (steps - 1));
        }
        assertArrayEquals(eager, replayed, 0f, "losses of eager and replayed steps");
        assertTrue(replayed[steps - 1] < replayed[0], "training lowers the loss");
        for (int i = 0; i < pe.size(); i++) {
            assertArrayEquals(pe.get(i).toFloatArray(), pr.get(i).toFloatArray(), 0f, "parameter " + i + " after training");
        }
    }

    /** A batch of the parity test's block: token ids, targets (two ignored positions), segment ids. */
    record Batch(int[] ids, int[] targets, int[] segments) {
        Object[] inputs() {
            return new Object[] {ids, targets, segments};
        }
    }

    private static List<Batch> batches(int count) {
        Random rng = new Random(7);
        int n = AutogradParityTest.B * AutogradParityTest.T;
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            int[] ids = new int[n], targets = new int[n], segments = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = rng.nextInt(AutogradParityTest.VOCAB);
                targets[i] = rng.nextInt(AutogradParityTest.VOCAB);
                segments[i] = rng.nextInt(6) - 1;   // -1 skips a token
            }
            // the mean cross-entropy divides by the number of labelled positions, a host value a
            // plan keeps: every batch ignores two positions (which two changes)
            int first = rng.nextInt(n), second = (first + 1 + rng.nextInt(n - 1)) % n;
            targets[first] = targets[second] = -1;
            out.add(new Batch(ids, targets, segments));
        }
        return out;
    }

    private static double lr(int step) {
        return 1e-2 / (1 + step);   // a schedule: the plan must take the current rate each replay
    }

    @Test
    void wholeTrainingStepReplaysOnNewBatches() {
        Backends.use(cl);
        List<Batch> data = batches(7);

        List<Tensor> pe = AutogradParityTest.params();
        AdamW oe = new AdamW(pe, AdamW.Options.of(1e-2));
        float[] eager = new float[data.size()];
        for (int s = 0; s < data.size(); s++) {
            Batch b = data.get(s);
            oe.setLr(lr(s));
            oe.zeroGrad();
            Tensor l = AutogradParityTest.loss(pe, b.ids(), b.targets(), b.segments());
            l.backward();
            oe.step();
            eager[s] = l.item();
        }

        List<Tensor> pr = AutogradParityTest.params();
        AdamW or = new AdamW(pr, AdamW.Options.of(1e-2));
        AtomicReference<Tensor> loss = new AtomicReference<>();
        Consumer<Batch> step = b -> {
            or.zeroGrad();
            Tensor l = AutogradParityTest.loss(pr, b.ids(), b.targets(), b.segments());
            l.backward();
            or.step();
            loss.set(l);
        };
        float[] replayed = new float[data.size()];
        or.setLr(lr(0));
        step.accept(data.get(0));              // AdamW's moments are created by an eager step
        replayed[0] = loss.get().item();
        or.setLr(lr(1));
        AtomicReference<Float> firstRecorded = new AtomicReference<>();
        try (TaskGraph.Plan<Batch> plan = TaskGraph.record(cl, b -> {
            step.accept(b);
            if (firstRecorded.get() == null) {
                firstRecorded.set(Float.NaN);
                or.setLr(lr(2));                // between the two recordings, as between any two steps
            }
        }, Batch::inputs, data.get(1), data.get(2))) {
            replayed[2] = loss.get().item();
            assertTrue(plan.describe().stream().anyMatch(c -> c.startsWith("input0(gatherRows)")), "ids bound");
            assertTrue(plan.describe().stream().anyMatch(c -> c.startsWith("input1(crossEntropy)")), "targets bound");
            assertTrue(plan.describe().stream().anyMatch(c -> c.startsWith("input2(segmentSum)")), "segments bound");
            for (int s = 3; s < data.size(); s++) {
                or.setLr(lr(s));
                long downloads = cl.downloadCount();
                plan.execute(data.get(s));
                assertEquals(downloads, cl.downloadCount(), "a replayed step reads nothing back");
                replayed[s] = loss.get().item();
            }
        }
        eager[1] = replayed[1] = 0;   // the first recording's loss tensor is not the plan's: not compared
        assertArrayEquals(eager, replayed, 0f, "losses of eager and replayed training steps");
        for (int i = 0; i < pe.size(); i++) {
            assertArrayEquals(pe.get(i).toFloatArray(), pr.get(i).toFloatArray(), 0f, "parameter " + i + " after training");
            assertArrayEquals(oe.state().get(i + ".exp_avg"), or.state().get(i + ".exp_avg"), 0f, "moment of " + i);
        }
        assertEquals(data.size(), or.step("0"), "AdamW counted the replayed steps");
    }

    @Test
    void aBadIndexInAReplayedBatchIsRefusedBeforeAnythingRuns() {
        Backends.use(cl);
        List<Batch> data = batches(3);
        List<Tensor> p = AutogradParityTest.params();
        AtomicReference<Tensor> loss = new AtomicReference<>();
        try (TaskGraph.Plan<Batch> plan = TaskGraph.record(cl, b -> {
            Tensor l = AutogradParityTest.loss(p, b.ids(), b.targets(), b.segments());
            loss.set(l);
        }, Batch::inputs, data.get(0), data.get(1))) {
            float recorded = loss.get().item();
            int[] ids = data.get(2).ids().clone();
            ids[3] = AutogradParityTest.VOCAB;
            Batch bad = new Batch(ids, data.get(2).targets(), data.get(2).segments());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan.execute(bad));
            assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("index 29 at position 3"),
                    e.getMessage());
            assertEquals(recorded, loss.get().item(), 0f, "nothing ran");
            int[] shortIds = new int[5];
            e = assertThrows(IllegalArgumentException.class,
                    () -> plan.execute(new Batch(shortIds, data.get(2).targets(), data.get(2).segments())));
            assertTrue(e.getMessage().contains("int[5]"), e.getMessage());
        }
    }

    @Test
    void whatAPlanCannotReplayIsRefusedAtRecording() {
        Backends.use(cl);
        List<Batch> data = batches(2);
        List<Tensor> p = AutogradParityTest.params();
        // targets shifted from the ids on the host: derived from the batch, not an input
        IllegalStateException derived = assertThrows(IllegalStateException.class, () -> TaskGraph.record(cl,
                (Batch b) -> AutogradParityTest.loss(p, b.ids(), shift(b.ids()), b.segments()),
                b -> new Object[] {b.ids(), b.segments()}, data.get(0), data.get(1)));
        assertTrue(derived.getMessage().contains("crossEntropy array") && derived.getMessage().contains("derived"),
                derived.getMessage());
        // an input the step never passes to the device as it is
        IllegalStateException unused = assertThrows(IllegalStateException.class, () -> TaskGraph.record(cl,
                (Batch b) -> AutogradParityTest.loss(p, b.ids(), data.get(0).targets(), data.get(0).segments()),
                b -> new Object[] {b.ids(), shift(b.targets())}, data.get(0), data.get(1)));
        assertTrue(unused.getMessage().contains("input 1") && unused.getMessage().contains("reached no device command"),
                unused.getMessage());
        // inputs of another shape in the second run
        Batch shorter = new Batch(Arrays.copyOf(data.get(1).ids(), 5), data.get(1).targets(), data.get(1).segments());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> TaskGraph.record(cl,
                (Batch b) -> AutogradParityTest.loss(p, data.get(0).ids(), b.targets(), b.segments()), Batch::inputs,
                data.get(0), shorter));
        assertTrue(shape.getMessage().contains("input 0 is int[14] in the first batch and int[5]"), shape.getMessage());
        // AdamW's moments made inside a recording would be zeroed on every replay
        AdamW fresh = new AdamW(p, AdamW.Options.of(1e-2));
        IllegalStateException moments = assertThrows(IllegalStateException.class, () -> TaskGraph.record(cl, () -> {
            fresh.zeroGrad();
            AutogradParityTest.loss(p).backward();
            fresh.step();
        }));
        assertTrue(moments.getMessage().contains("run one step before recording"), moments.getMessage());
        // and nothing is left recording after a refusal
        assertTrue(!cl.recordingStep());
    }

    /**
     * The recording in steps, with the optimiser between the runs as a trainer does it, and an
     * input that is the same in both runs (bound all the same): replays follow eager steps.
     */
    @Test
    void aRecordingInStepsTakesHostWorkBetweenItsRuns() {
        Backends.use(cl);
        List<Batch> data = batches(6);
        int[] sameSegments = data.get(0).segments();
        List<Batch> batches = new ArrayList<>();
        for (Batch b : data) batches.add(new Batch(b.ids(), b.targets(), sameSegments));
        List<Tensor> pe = AutogradParityTest.params(), pr = AutogradParityTest.params();
        AdamW oe = new AdamW(pe, AdamW.Options.of(1e-2)), or = new AdamW(pr, AdamW.Options.of(1e-2));
        float[] eager = new float[batches.size()], replayed = new float[batches.size()];
        for (int s = 0; s < batches.size(); s++) {
            Batch b = batches.get(s);
            oe.zeroGrad();
            Tensor l = AutogradParityTest.loss(pe, b.ids(), b.targets(), b.segments());
            l.backward();
            oe.step();
            eager[s] = l.item();
        }
        AtomicReference<Tensor> loss = new AtomicReference<>();
        Consumer<Batch> forwardBackward = b -> {   // the optimiser stays outside the recorded part
            or.zeroGrad();
            loss.set(AutogradParityTest.loss(pr, b.ids(), b.targets(), b.segments()));
            loss.get().backward();
        };
        TaskGraph.Plan<Batch> plan = null;
        try (TaskGraph.Recording<Batch> rec = TaskGraph.start(cl, forwardBackward, Batch::inputs)) {
            for (int s = 0; s < batches.size(); s++) {
                if (s == 0) forwardBackward.accept(batches.get(s));
                else if (s <= 2) rec.run(batches.get(s));
                else plan.execute(batches.get(s));
                replayed[s] = loss.get().item();
                or.step();
                if (s == 2) plan = rec.plan();
            }
        } finally {
            if (plan != null) plan.close();
        }
        assertArrayEquals(eager, replayed, 0f, "losses of eager steps and of recorded and replayed ones");
        for (int i = 0; i < pe.size(); i++) assertArrayEquals(pe.get(i).toFloatArray(), pr.get(i).toFloatArray(), 0f);
    }

    @Test
    void floatInputsMadeIntoTensorsAreBound() {
        Backends.use(cl);
        Tensor w = Tensor.randn(new Random(3), 1f, 6, 4).requiresGrad(true);
        Random rng = new Random(4);
        float[][] xs = new float[3][12];
        for (float[] x : xs) for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        AtomicReference<Tensor> out = new AtomicReference<>();
        Consumer<float[]> step = x -> out.set(Reductions.sum(MatMul.matmul(Tensor.of(x, 2, 6), w)));
        step.accept(xs[2]);
        float eager = out.get().item();
        try (TaskGraph.Plan<float[]> plan = TaskGraph.record(cl, step, x -> new Object[] {x}, xs[0], xs[1])) {
            assertTrue(plan.describe().get(0).startsWith("input0(upload)"), plan.describe().toString());
            plan.execute(xs[2]);
            assertEquals(eager, out.get().item(), 0f, "the replay computed with the new values");
        }
    }

    private static int[] shift(int[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i + 1 < ids.length; i++) out[i] = ids[i + 1];
        out[ids.length - 1] = -1;
        return out;
    }

    @Test
    void hostReadsOfDeviceValuesAreRefusedWhileRecording() {
        Backends.use(cl);
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> TaskGraph.record(cl, () -> cl.sumOfSquares(x.storage(), 3)));
        assertTrue(e.getMessage().contains("outside the graph"), e.getMessage());
        // the failed recording left the backend usable and not recording
        assertEquals(14.0, cl.sumOfSquares(x.storage(), 3), 1e-6);
    }

    private static float[][] grads(List<Tensor> p) {
        float[][] g = new float[p.size()][];
        for (int i = 0; i < g.length; i++) g[i] = p.get(i).grad().toFloatArray();
        return g;
    }
}
