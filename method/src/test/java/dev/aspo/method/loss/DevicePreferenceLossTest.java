package dev.aspo.method.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.loss.LossConfig.Normalization;
import dev.aspo.method.loss.LossConfig.PerplexitySource;
import dev.aspo.method.loss.LossConfig.RejectedWeighting;
import dev.aspo.method.train.PreferenceStep;
import dev.aspo.opencl.Devices;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.opencl.TaskGraph;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The device op ({@link DevicePreferenceLoss}, reached through {@link PreferenceStep} when the
 * log-probs live on the OpenCL device) gives {@link PreferenceLoss}'s loss, gradient and per-pair
 * results on the CPU within 1e-5 relative, for random batches: several n and T, K from 1 to 5 with
 * one-token sentences, prompt and padding positions, all-equal similarities (degenerate min-max);
 * both objectives (sigmoid, ipo), adaptive and oracle weights.
 * Skipped without an OpenCL platform unless {@code ASPO_OPENCL_REQUIRED=1}.
 */
class DevicePreferenceLossTest {
    private static final double TOL = 1e-5;

    @AfterEach
    void backToCpu() {
        Backends.use(Backends.cpu());
    }

    private static Backend device() {
        boolean required = "1".equals(System.getProperty("ASPO_OPENCL_REQUIRED", System.getenv("ASPO_OPENCL_REQUIRED")));
        if (!Devices.available()) {
            if (required) fail("ASPO_OPENCL_REQUIRED=1 but " + Devices.NO_PLATFORM);
            assumeTrue(false, Devices.NO_PLATFORM);
        }
        return Devices.select("opencl");
    }

    /** A random batch of n records: log-probs, reference, sentence ids (through {@link Batch}), similarities. */
    private record Case(Batch batch, float[] lp, float[] ref, List<double[]> simChosen, List<double[]> simRejected) {}

    /**
     * Each response has L tokens in K contiguous sentences (K = 1 and one-token sentences are
     * common at these sizes); the rows differ in prompt length and so in padding.
     */
    private static Case randomCase(Random rng, int n, int maxResponse, int maxK) {
        List<Sequence> rows = new ArrayList<>();
        List<double[]> simC = new ArrayList<>(), simR = new ArrayList<>();
        for (int r = 0; r < 2 * n; r++) {
            int prompt = 1 + rng.nextInt(4), len = 1 + rng.nextInt(maxResponse);
            int k = 1 + rng.nextInt(Math.min(len, maxK));
            // k - 1 distinct cut points in 1..len-1
            List<Integer> cuts = new ArrayList<>();
            for (int c = 1; c < len; c++) cuts.add(c);
            java.util.Collections.shuffle(cuts, rng);
            int[] sorted = cuts.subList(0, k - 1).stream().mapToInt(Integer::intValue).sorted().toArray();
            int[] ids = new int[prompt + len], sentence = new int[len];
            for (int i = 0; i < ids.length; i++) ids[i] = 1 + rng.nextInt(50);
            for (int i = 0, s = 0; i < len; i++) {
                while (s < sorted.length && i >= sorted[s]) s++;
                sentence[i] = s;
            }
            rows.add(new Sequence(ids, prompt, sentence, List.of()));
            double[] sim = new double[k];
            boolean equal = rng.nextInt(4) == 0;   // degenerate: min-max gives zeros
            for (int i = 0; i < k; i++) sim[i] = equal ? 0.25 : rng.nextDouble() * 0.6 - 0.1;
            (r < n ? simC : simR).add(sim);
        }
        Batch b = new Batch(rows, 0);
        int cells = b.batch * b.seq;
        float[] lp = new float[cells], ref = new float[cells];
        for (int i = 0; i < cells; i++) {
            lp[i] = -0.01f - 4f * rng.nextFloat();
            ref[i] = lp[i] + 0.5f * (float) rng.nextGaussian();   // near the policy, as after SFT
            if (ref[i] > 0) ref[i] = -ref[i];
        }
        return new Case(b, lp, ref, simC, simR);
    }

    /** The loss on {@code backend}: lp a leaf there; returns the result, dL/dlp and the loss's op (before backward frees it). */
    private static Object[] run(Backend backend, LossConfig config, Case c) {
        Backends.use(backend);
        Tensor lp = Tensor.of(backend.upload(c.lp), c.batch.batch, c.batch.seq).requiresGrad(true);
        LossResult res = PreferenceStep.loss(config, lp, c.ref, c.batch, config.weightsChosen() ? c.simChosen : null,
                config.weightsRejected() ? c.simRejected : null);
        String op = res.loss().node().op();
        res.loss().backward();
        float[] grad = lp.grad().toFloatArray();
        Backends.use(Backends.cpu());
        return new Object[] {res, grad, op};
    }

    private static void close(String what, double expected, double actual) {
        if (!(Math.abs(actual - expected) <= TOL * Math.max(Math.abs(expected), 1e-3))) {
            fail(what + ": expected " + expected + ", got " + actual + " (diff " + Math.abs(actual - expected) + ")");
        }
    }

    private static void close(String what, double[] expected, double[] actual) {
        if (expected == null || actual == null) {
            assertEquals(expected == null, actual == null, what + ": one side is null");
            return;
        }
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) close(what + " [" + i + "]", expected[i], actual[i]);
    }

    /** Everything the trainer uses: loss, gradient, per-pair rewards, log-probs, weights, metrics. */
    private static void assertSame(String what, LossConfig config, Case c, Backend cl) {
        Object[] cpu = run(Backends.cpu(), config, c), dev = run(cl, config, c);
        LossResult e = (LossResult) cpu[0], a = (LossResult) dev[0];
        assertEquals("preferenceLoss", dev[2], what + ": the device op ran");
        close(what + " loss", e.value(), a.value());
        float[] ge = (float[]) cpu[1], ga = (float[]) dev[1];
        double scale = 0;
        for (float g : ge) scale = Math.max(scale, Math.abs(g));
        assertTrue(scale > 0, what + ": the CPU gradient is all zero");
        for (int i = 0; i < ge.length; i++) {
            if (!(Math.abs(ga[i] - ge[i]) <= TOL * Math.abs(ge[i]) + 1e-6 * TOL * scale)) {
                fail(what + " dL/dlp [" + i + "]: expected " + ge[i] + ", got " + ga[i]);
            }
        }
        for (int j = 0; j < e.pairs().size(); j++) {
            LossResult.PairResult pe = e.pairs().get(j), pa = a.pairs().get(j);
            String w = what + " record " + j;
            close(w + " loss", pe.loss(), pa.loss());
            close(w + " r_c", pe.rewardChosen(), pa.rewardChosen());
            close(w + " r_r", pe.rewardRejected(), pa.rewardRejected());
            close(w + " logps chosen", pe.logpsChosen(), pa.logpsChosen());
            close(w + " logps rejected", pe.logpsRejected(), pa.logpsRejected());
            ResponseWeights[] se = {pe.chosen(), pe.rejected()}, sa = {pa.chosen(), pa.rejected()};
            for (int s = 0; s < 2; s++) {
                String ws = w + (s == 0 ? " chosen" : " rejected");
                if (se[s] == null) {
                    assertNull(sa[s], ws + " weights");
                    continue;
                }
                assertNotNull(sa[s], ws + " weights");
                assertArrayEquals(se[s].tokenCounts(), sa[s].tokenCounts(), ws + " n_i");
                close(ws + " l_i", se[s].logRatios(), sa[s].logRatios());
                close(ws + " PPL_i", se[s].perplexities(), sa[s].perplexities());
                close(ws + " P'_i", se[s].perplexityScores(), sa[s].perplexityScores());
                close(ws + " S'_i", se[s].similarityScores(), sa[s].similarityScores());
                close(ws + " w_i", se[s].weights(), sa[s].weights());
                close(ws + " omega_i", se[s].omega(), sa[s].omega());
                assertEquals(se[s].fallback(), sa[s].fallback(), ws + " fallback");
            }
        }
        Map<String, Double> me = LossMetrics.of(e), ma = LossMetrics.of(a);
        assertEquals(me.keySet(), ma.keySet(), what + " metric names");
        for (String k : me.keySet()) close(what + " " + k, me.get(k), ma.get(k));
    }

    private static final LossConfig ASPO = LossConfig.aspo();
    private static final LossConfig ORACLE = ASPO.withWeightSource(LossConfig.WeightSource.ORACLE);

    /** {@code c} with oracle labels (0 or 1 per sentence, sometimes all equal) in the similarities' place. */
    private static Case withOracleLabels(Case c, Random rng) {
        List<List<double[]>> sides = new ArrayList<>();
        for (List<double[]> side : List.of(c.simChosen, c.simRejected)) {
            List<double[]> labels = new ArrayList<>();
            for (double[] sim : side) {
                double[] l = new double[sim.length];
                boolean equal = rng.nextInt(4) == 0;
                for (int i = 0; i < l.length; i++) l[i] = equal ? 1 : rng.nextInt(2);
                labels.add(l);
            }
            sides.add(labels);
        }
        return new Case(c.batch, c.lp, c.ref, sides.get(0), sides.get(1));
    }

    @Test
    void matchesTheCpuLossForRandomBatches() {
        Backend cl = device();
        List<Object[]> configs = List.of(
                new Object[] {"dpo", LossConfig.dpo()},
                new Object[] {"aspo alpha 0", ASPO.withAlpha(0)},
                new Object[] {"aspo alpha 0.5", ASPO.withAlpha(0.5)},
                new Object[] {"aspo alpha 1", ASPO.withAlpha(1)},
                new Object[] {"aspo reward-ratio", ASPO.withNormalization(Normalization.REWARD_RATIO)},
                new Object[] {"aspo reference perplexity", ASPO.withPerplexitySource(PerplexitySource.REFERENCE)},
                new Object[] {"aspo inverse", ASPO.withRejectedWeighting(RejectedWeighting.INVERSE).withBeta(0.5)},
                new Object[] {"dpo label smoothing", LossConfig.dpo().withLabelSmoothing(0.1)},
                new Object[] {"dpo ipo", LossConfig.dpo().withObjective(LossConfig.Objective.IPO)},
                new Object[] {"aspo ipo", ASPO.withObjective(LossConfig.Objective.IPO).withBeta(0.5)},
                new Object[] {"aspo ipo reward-ratio", ASPO.withObjective(LossConfig.Objective.IPO)
                        .withNormalization(Normalization.REWARD_RATIO)},
                new Object[] {"aspo oracle", ORACLE},
                new Object[] {"aspo oracle inverse reward-ratio", ORACLE.withRejectedWeighting(RejectedWeighting.INVERSE)
                        .withNormalization(Normalization.REWARD_RATIO)});
        Random rng = new Random(11);
        int[][] shapes = {{1, 6, 3}, {3, 12, 5}, {6, 20, 5}};   // n, max response length, max K
        int oneSentence = 0, oneToken = 0, equalSims = 0, fallbacks = 0;
        for (int[] s : shapes) {
            for (int rep = 0; rep < 2; rep++) {
                Case c = randomCase(rng, s[0], s[1], s[2]);
                Case labelled = withOracleLabels(c, rng);
                for (Object[] cfg : configs) {
                    LossConfig config = (LossConfig) cfg[1];
                    boolean oracle = config.weightSource() == LossConfig.WeightSource.ORACLE;
                    assertSame(cfg[0] + " n=" + s[0] + " T=" + c.batch.seq + " rep " + rep, config, oracle ? labelled : c, cl);
                }
                // what the batches covered (the cases the kernels treat specially)
                for (Sequence q : c.batch.rows) {
                    int[] ids = q.sentenceIds();
                    oneSentence += ids[ids.length - 1] == 0 ? 1 : 0;
                    for (int i = 0; i < ids.length; i++) {
                        boolean alone = (i == 0 || ids[i - 1] != ids[i]) && (i == ids.length - 1 || ids[i + 1] != ids[i]);
                        oneToken += alone && ids[ids.length - 1] > 0 ? 1 : 0;
                    }
                }
                for (double[] sim : c.simChosen) equalSims += sim.length > 1 && sim[0] == sim[1] ? 1 : 0;
                fallbacks += LossMetrics.of(PreferenceStep.loss(ASPO.withNormalization(Normalization.REWARD_RATIO),
                        Tensor.of(c.lp, c.batch.batch, c.batch.seq), c.ref, c.batch, c.simChosen, null))
                        .get("aspo/ratio_fallbacks");
            }
        }
        assertTrue(oneSentence > 0 && oneToken > 0 && equalSims > 0 && fallbacks > 0, "coverage: " + oneSentence
                + " one-sentence responses, " + oneToken + " one-token sentences in longer responses, " + equalSims
                + " degenerate similarity sets, " + fallbacks + " reward-ratio fallbacks");
    }

    @Test
    void oneSentencePerResponseIsDpoBitForBit() {
        Backend cl = device();
        Case c = randomCase(new Random(3), 4, 10, 1);
        Object[] dpo = run(cl, LossConfig.dpo(), c), aspo = run(cl, ASPO, c);
        assertEquals(((LossResult) dpo[0]).value(), ((LossResult) aspo[0]).value(), 0.0);
        assertArrayEquals((float[]) dpo[1], (float[]) aspo[1], 0f);
    }

    @Test
    void rewardRatioKeepsDposLossValue() {
        Backend cl = device();
        Case c = randomCase(new Random(5), 4, 12, 4);
        LossResult dpo = (LossResult) run(cl, LossConfig.dpo(), c)[0];
        LossResult ratio = (LossResult) run(cl, ASPO.withNormalization(Normalization.REWARD_RATIO), c)[0];
        close("reward-ratio loss", dpo.value(), ratio.value());
    }

    /**
     * The weights are computed on the device, so a recorded step recomputes them from new inputs:
     * replayed on new log-probs, the plan gives the eager loss and gradient of those log-probs
     * bit for bit (the host-side op path would have replayed the recorded weights).
     */
    @Test
    void aRecordedStepReplaysOnNewLogProbs() {
        Backend cl = device();
        Case c = randomCase(new Random(17), 3, 10, 4);
        float[] other = c.lp.clone();
        for (int i = 0; i < other.length; i++) other[i] = other[i] * 0.7f - 0.2f;
        Case next = new Case(c.batch, other, c.ref, c.simChosen, c.simRejected);
        Object[] eager = run(cl, ASPO, next);
        // the new log-probs change the weights: a replay with the recorded weights would differ
        LossResult before = (LossResult) run(cl, ASPO, c)[0], after = (LossResult) eager[0];
        boolean changed = false;
        for (int j = 0; j < 3; j++) {
            changed |= !Arrays.equals(before.pairs().get(j).chosen().omega(), after.pairs().get(j).chosen().omega());
        }
        assertTrue(changed, "the test's new log-probs must change some omega");

        Backends.use(cl);
        dev.aspo.tensor.Storage input = cl.upload(c.lp);
        dev.aspo.tensor.Storage[] out = new dev.aspo.tensor.Storage[2];
        try (TaskGraph.Plan<Void> plan = TaskGraph.record((OpenClBackend) cl, () -> {
            Tensor lp = Tensor.of(input, c.batch.batch, c.batch.seq).requiresGrad(true);
            Tensor loss = PreferenceStep.loss(ASPO, lp, c.ref, c.batch, c.simChosen, null).loss();
            out[0] = loss.storage();
            loss.backward();
            out[1] = lp.gradBuffer();
        })) {
            ((OpenClBackend) cl).write(input, other);
            plan.execute();
            float[] loss = new float[1], grad = new float[out[1].size()];
            cl.download(out[0], 0, loss, 1);
            cl.download(out[1], 0, grad, grad.length);
            assertEquals(((LossResult) eager[0]).value(), loss[0], 0.0);
            assertArrayEquals((float[]) eager[1], grad, 0f);
        }
    }

    /**
     * The same through a two-batch recording: the policy and reference log-probs are the plan's
     * inputs (the sentence layout and similarities stay those of the batch), and a replay on a third
     * pair of arrays gives that batch's eager loss and gradient bit for bit.
     */
    @Test
    void aRecordedStepTakesNewLogProbsAsInputs() {
        Backend cl = device();
        Case c = randomCase(new Random(23), 3, 10, 4);
        Case[] cases = new Case[3];
        for (int k = 0; k < 3; k++) {
            float[] lp = c.lp.clone(), ref = c.ref.clone();
            for (int i = 0; i < lp.length; i++) {
                lp[i] = lp[i] * (1 - 0.1f * k) - 0.05f * k;
                ref[i] = ref[i] * (1 + 0.07f * k);
            }
            cases[k] = new Case(c.batch, lp, ref, c.simChosen, c.simRejected);
        }
        Object[] eager = run(cl, ASPO, cases[2]);
        Backends.use(cl);
        Tensor[] out = new Tensor[2];
        java.util.function.Consumer<Case> step = x -> {
            Tensor lp = Tensor.of(x.lp, x.batch.batch, x.batch.seq).requiresGrad(true);
            Tensor loss = PreferenceStep.loss(ASPO, lp, x.ref, x.batch, x.simChosen, null).loss();
            loss.backward();
            out[0] = loss;
            out[1] = lp;
        };
        try (TaskGraph.Plan<Case> plan = TaskGraph.record((OpenClBackend) cl, step, x -> new Object[] {x.lp, x.ref},
                cases[0], cases[1])) {
            plan.execute(cases[2]);
            assertEquals(((LossResult) eager[0]).value(), out[0].item(), 0.0);
            assertArrayEquals((float[]) eager[1], out[1].grad().toFloatArray(), 0f);
        }
    }

    @Test
    void everyConfigurationRunsOnTheDeviceOnlyThere() {
        Backend cl = device();
        for (LossConfig c : List.of(ASPO, LossConfig.dpo(), ORACLE, ASPO.withObjective(LossConfig.Objective.IPO))) {
            assertTrue(DevicePreferenceLoss.supports(c, cl) && !DevicePreferenceLoss.supports(c, Backends.cpu()));
        }
    }

    @Test
    void oracleWeightsOutsideTheUnitIntervalAreAnErrorNamingTheRecord() {
        Backend cl = device();
        Case c = withOracleLabels(randomCase(new Random(19), 2, 8, 3), new Random(1));
        List<double[]> labels = new ArrayList<>(c.simChosen);
        double[] bad = labels.get(1).clone();
        bad[0] = 1.5;
        labels.set(1, bad);
        Tensor lp = Tensor.of(cl.upload(c.lp), c.batch.batch, c.batch.seq).requiresGrad(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DevicePreferenceLoss.compute(ORACLE, lp, c.ref, c.batch.sentenceIds, labels, null));
        assertEquals("record 1, chosen: oracle weight 0 is 1.5, not in [0, 1]", e.getMessage());
    }

    @Test
    void nonFiniteLogProbNamesRecordAndToken() {
        Backend cl = device();
        Case c = randomCase(new Random(9), 2, 6, 2);
        int row = 3, t = -1;   // rejected of record 1
        for (int i = 0; i < c.batch.seq; i++) {
            if (c.batch.sentenceIds[row * c.batch.seq + i] >= 0) {
                t = i;
                break;
            }
        }
        c.lp[row * c.batch.seq + t] = Float.NEGATIVE_INFINITY;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(cl, ASPO, c));
        assertTrue(e.getMessage().contains("record 1, rejected: token " + t + " has a non-finite"), e.getMessage());
    }

    @Test
    void missingSimilaritiesAreAnErrorNamingTheRecord() {
        Backend cl = device();
        Case c = randomCase(new Random(13), 2, 8, 3);
        List<double[]> sims = new ArrayList<>(c.simChosen);
        int k = sims.get(1).length;
        sims.set(1, Arrays.copyOf(sims.get(1), k + 1));
        Tensor lp = Tensor.of(cl.upload(c.lp), c.batch.batch, c.batch.seq).requiresGrad(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DevicePreferenceLoss.compute(ASPO, lp, c.ref, c.batch.sentenceIds, sims, null));
        assertTrue(e.getMessage().startsWith("record 1, chosen: similarities need one value per sentence (" + k + "), got "
                + (k + 1)), e.getMessage());
    }
}
