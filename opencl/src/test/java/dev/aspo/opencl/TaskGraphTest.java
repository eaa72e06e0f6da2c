package dev.aspo.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.optim.AdamW;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A recorded forward + backward replays to exactly what eager steps compute. */
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
        try (TaskGraph.Plan plan = TaskGraph.record(cl, () -> {
            Tensor l = AutogradParityTest.loss(p);
            l.backward();
            loss.set(l);
        })) {
            assertTrue(plan.size() > 50, "a transformer block's step is many commands: " + plan.size());
            float first = loss.get().item();
            float[][] grads = grads(p);
            for (int rep = 0; rep < 2; rep++) {
                plan.execute();
                assertEquals(first, loss.get().item(), 0f, "replayed loss");
                float[][] again = grads(p);
                // bit-identical, and not doubled: the replay zeroes the gradients it accumulates into
                for (int i = 0; i < grads.length; i++) assertArrayEquals(grads[i], again[i], 0f, "gradient " + i);
            }
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
        try (TaskGraph.Plan plan = TaskGraph.record(cl, () -> {
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
