package dev.aspo.method.loss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.method.loss.LossConfig.LossType;
import dev.aspo.method.loss.LossConfig.Normalization;
import dev.aspo.method.loss.LossConfig.Objective;
import dev.aspo.method.loss.LossConfig.PerplexitySource;
import dev.aspo.method.loss.LossConfig.RejectedWeighting;
import dev.aspo.method.loss.LossConfig.WeightSource;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PreferenceLossTest {

    // ---- building inputs ------------------------------------------------------------------------

    /** The code's inputs for reference pairs: policy log-probs are leaves that collect gradients. */
    private record Built(List<PreferencePair> pairs, Tensor[] policyChosen, Tensor[] policyRejected) {
        float[] gradChosen(int b) {
            Tensor g = policyChosen[b].grad();
            return g == null ? new float[policyChosen[b].numel()] : g.toFloatArray();
        }

        float[] gradRejected(int b) {
            Tensor g = policyRejected[b].grad();
            return g == null ? new float[policyRejected[b].numel()] : g.toFloatArray();
        }
    }

    private static Tensor tensor(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.of(f, v.length);
    }

    private static Built build(AspoReference.Pair... pairs) {
        List<PreferencePair> list = new ArrayList<>();
        Tensor[] pc = new Tensor[pairs.length], pr = new Tensor[pairs.length];
        for (int b = 0; b < pairs.length; b++) {
            AspoReference.Resp c = pairs[b].chosen(), r = pairs[b].rejected();
            pc[b] = tensor(c.policy()).requiresGrad(true);
            pr[b] = tensor(r.policy()).requiresGrad(true);
            list.add(new PreferencePair(new ResponseLogps(pc[b], tensor(c.ref()), c.ids(), c.sim(), c.oracle()),
                    new ResponseLogps(pr[b], tensor(r.ref()), r.ids(), r.sim(), r.oracle())));
        }
        return new Built(list, pc, pr);
    }

    /** Runs the loss and its backward. */
    private static LossResult run(LossConfig cfg, Built built) {
        LossResult result = PreferenceLoss.compute(cfg, built.pairs());
        result.loss().backward();
        return result;
    }

    private static double f(Random rng, double lo, double hi) {
        return (float) (lo + (hi - lo) * rng.nextDouble());   // float-exact, so the reference sees the code's inputs
    }

    /** A response of {@code k} sentences (1-4 tokens each), optionally with prompt/padding tokens (-1) around it. */
    private static AspoReference.Resp randomResp(Random rng, int k, boolean pad) {
        List<Integer> ids = new ArrayList<>();
        int before = pad ? rng.nextInt(4) : 0, after = pad ? rng.nextInt(4) : 0;
        for (int i = 0; i < before; i++) ids.add(-1);
        for (int s = 0; s < k; s++) for (int j = 0, len = 1 + rng.nextInt(4); j < len; j++) ids.add(s);
        for (int i = 0; i < after; i++) ids.add(-1);
        int n = ids.size();
        double[] policy = new double[n], ref = new double[n];
        for (int t = 0; t < n; t++) {
            policy[t] = f(rng, -4, -0.01);
            ref[t] = f(rng, -4, -0.01);
        }
        double[] sim = new double[k], oracle = new double[k];
        for (int s = 0; s < k; s++) {
            sim[s] = f(rng, 0.1, 0.4);
            oracle[s] = rng.nextInt(3) / 2.0;
        }
        return new AspoReference.Resp(policy, ref, ids.stream().mapToInt(Integer::intValue).toArray(), sim, oracle);
    }

    private static AspoReference.Pair randomPair(Random rng, int kChosen, int kRejected, boolean pad) {
        return new AspoReference.Pair(randomResp(rng, kChosen, pad), randomResp(rng, kRejected, pad));
    }

    private static AspoReference.Pair[] randomBatch(Random rng, int size, int maxK) {
        AspoReference.Pair[] pairs = new AspoReference.Pair[size];
        for (int b = 0; b < size; b++) pairs[b] = randomPair(rng, 1 + rng.nextInt(maxK), 1 + rng.nextInt(maxK), rng.nextBoolean());
        return pairs;
    }

    /** The option combinations every property is checked under. */
    private static List<LossConfig> variants() {
        LossConfig a = LossConfig.aspo();
        return List.of(a,
                a.withNormalization(Normalization.REWARD_RATIO),
                a.withPerplexitySource(PerplexitySource.REFERENCE),
                a.withAlpha(0), a.withAlpha(1), a.withAlpha(0.3).withBeta(0.5),
                a.withRejectedWeighting(RejectedWeighting.INVERSE),
                a.withRejectedWeighting(RejectedWeighting.INVERSE).withNormalization(Normalization.REWARD_RATIO),
                a.withObjective(Objective.IPO),
                a.withLabelSmoothing(0.1),
                a.withWeightSource(WeightSource.ORACLE),
                a.withWeightSource(WeightSource.ORACLE).withRejectedWeighting(RejectedWeighting.INVERSE)
                        .withNormalization(Normalization.REWARD_RATIO));
    }

    private static LossConfig dpoOf(LossConfig cfg) {
        return cfg.withLossType(LossType.DPO);
    }

    /** |a - e| <= tol * max|e| + 1e-9 elementwise: tolerance relative to the vector's scale. */
    private static void assertCloseScaled(String what, double[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tol * scale + 1e-9)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + "\n  expected "
                        + Arrays.toString(expected) + "\n  actual   " + Arrays.toString(actual));
            }
        }
    }

    private static void assertClose(String what, double expected, double actual, double relTol) {
        if (!(Math.abs(actual - expected) <= relTol * Math.max(1, Math.abs(expected)))) {
            fail(what + ": " + actual + ", expected " + expected);
        }
    }

    private static void assertClose(String what, double[] expected, double[] actual, double tol) {
        if (expected == null || actual == null) {
            assertEquals(expected == null, actual == null, what + ": null");
            return;
        }
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) assertClose(what + "[" + i + "]", expected[i], actual[i], tol);
    }

    // ---- a worked example, by hand ----------------------------------------------------------------

    /**
     * One record, three chosen sentences (2, 3 and 2 tokens), every step of docs/METHOD.md written out in
     * double arithmetic here. The same record is docs/examples/aspo-loss.json.
     */
    @Test
    void handComputedExample() {
        double[] pc = {-0.5, -1.0, -2.0, -0.25, -1.5, -0.75, -0.5}, rc = {-0.75, -1.0, -1.5, -0.5, -1.0, -1.0, -0.5};
        int[] ids = {0, 0, 1, 1, 1, 2, 2};
        double[] sim = {0.31, 0.22, 0.27};
        double[] pr = {-1.0, -2.0, -0.5}, rr = {-1.25, -1.5, -0.5};
        double beta = 0.1, alpha = 0.5;

        // l_i: (-0.5+0.75)+(-1+1) = 0.25; (-2+1.5)+(-0.25+0.5)+(-1.5+1) = -0.75; (-0.75+1)+(-0.5+0.5) = 0.25
        double[] l = {0.25, -0.75, 0.25};
        // PPL_i from the policy: mean log-probs -0.75, -1.25, -0.625
        double[] ppl = {Math.exp(0.75), Math.exp(1.25), Math.exp(0.625)};
        // P = -PPL: max is sentence 2, min sentence 1
        double pRange = -ppl[2] - -ppl[1];
        double[] pScore = {(-ppl[0] + ppl[1]) / pRange, 0, 1};
        double[] sScore = {1, 0, (0.27 - 0.22) / (0.31 - 0.22)};
        double[] w = new double[3], omega = new double[3];
        double total = 0;
        for (int i = 0; i < 3; i++) {
            w[i] = alpha * sScore[i] + (1 - alpha) * pScore[i];
            total += 1 + w[i];
        }
        for (int i = 0; i < 3; i++) omega[i] = 3 * (1 + w[i]) / total;
        double rewardChosen = beta * (omega[0] * l[0] + omega[1] * l[1] + omega[2] * l[2]);
        double rewardRejected = beta * ((-1.0 + 1.25) + (-2.0 + 1.5) + 0);
        double margin = rewardChosen - rewardRejected;
        double loss = Math.log1p(Math.exp(-margin));
        double sigma = 1 / (1 + Math.exp(margin));   // d loss / d (r_r - r_c*)

        Built built = build(new AspoReference.Pair(new AspoReference.Resp(pc, rc, ids, sim, null),
                new AspoReference.Resp(pr, rr, null, null, null)));
        LossResult result = run(LossConfig.aspo(), built);
        LossResult.PairResult p = result.pairs().get(0);
        ResponseWeights cw = p.chosen();
        assertClose("l", l, cw.logRatios(), 1e-7);
        assertClose("PPL", ppl, cw.perplexities(), 1e-7);
        assertClose("P'", pScore, cw.perplexityScores(), 1e-7);
        assertClose("S'", sScore, cw.similarityScores(), 1e-12);
        assertClose("w", w, cw.weights(), 1e-7);
        assertClose("omega", omega, cw.omega(), 1e-7);
        assertFalse(cw.fallback());
        assertArrayEquals(new int[] {2, 3, 2}, cw.tokenCounts());
        assertNull(p.rejected());
        assertClose("r_c*", rewardChosen, p.rewardChosen(), 1e-6);
        assertClose("r_r", rewardRejected, p.rewardRejected(), 1e-7);
        assertClose("loss", loss, result.value(), 1e-6);
        double[] gradChosen = new double[7];
        for (int t = 0; t < 7; t++) gradChosen[t] = -sigma * beta * omega[ids[t]];
        assertCloseScaled("dL/dpolicy_chosen", gradChosen, built.gradChosen(0), 1e-6);
        assertCloseScaled("dL/dpolicy_rejected", new double[] {sigma * beta, sigma * beta, sigma * beta}, built.gradRejected(0), 1e-6);
        // plain DPO sees no preference in this record (r_c = beta * sum l = -0.025 = r_r); ASPO's weights give a margin
        assertEquals(0.0, beta * (l[0] + l[1] + l[2]) - rewardRejected);
        assertTrue(margin > 0.03, "margin " + margin);
    }

    // ---- invariants of docs/METHOD.md ---------------------------------------------------------------

    @Test
    void oneSentenceIsDpoExactlyInLossAndGradient() {
        Random rng = new Random(11);
        for (LossConfig cfg : variants()) {
            for (int trial = 0; trial < 5; trial++) {
                AspoReference.Pair[] batch = new AspoReference.Pair[3];
                for (int b = 0; b < batch.length; b++) batch[b] = randomPair(rng, 1, 1, rng.nextBoolean());
                assertSameAsDpo(cfg, batch);
            }
        }
    }

    @Test
    void equalWeightsAreDpoExactlyUnderMean() {
        Random rng = new Random(12);
        for (double c : new double[] {0, 0.37, 1}) {
            for (int trial = 0; trial < 5; trial++) {
                AspoReference.Pair[] batch = randomBatch(rng, 3, 5);
                for (int b = 0; b < batch.length; b++) {
                    AspoReference.Resp x = batch[b].chosen(), y = batch[b].rejected();
                    double[] oc = new double[x.sentences()], or = new double[y.sentences()];
                    Arrays.fill(oc, c);
                    Arrays.fill(or, c);
                    batch[b] = new AspoReference.Pair(new AspoReference.Resp(x.policy(), x.ref(), x.ids(), x.sim(), oc),
                            new AspoReference.Resp(y.policy(), y.ref(), y.ids(), y.sim(), or));
                }
                LossConfig oracle = LossConfig.aspo().withWeightSource(WeightSource.ORACLE);
                assertSameAsDpo(oracle, batch);
                assertSameAsDpo(oracle.withRejectedWeighting(RejectedWeighting.INVERSE), batch);
            }
        }
        // adaptive weights that come out equal: same perplexity and similarity in every sentence -> w = 0
        for (int trial = 0; trial < 5; trial++) {
            AspoReference.Pair[] batch = randomBatch(rng, 3, 5);
            for (int b = 0; b < batch.length; b++) {
                AspoReference.Resp x = batch[b].chosen();
                double[] policy = x.policy().clone(), sim = new double[x.sentences()];
                Arrays.fill(policy, -1.25);
                Arrays.fill(sim, 0.3);
                batch[b] = new AspoReference.Pair(new AspoReference.Resp(policy, x.ref(), x.ids(), sim, null), batch[b].rejected());
            }
            assertSameAsDpo(LossConfig.aspo(), batch);
        }
    }

    /** Loss, rewards and every gradient element bit-identical to DPO with the same objective and beta. */
    private static void assertSameAsDpo(LossConfig cfg, AspoReference.Pair[] batch) {
        Built a = build(batch), d = build(batch);
        LossResult aspo = run(cfg, a), dpo = run(dpoOf(cfg), d);
        assertEquals(dpo.value(), aspo.value(), "loss under " + cfg);
        for (int b = 0; b < batch.length; b++) {
            assertEquals(dpo.pairs().get(b).rewardChosen(), aspo.pairs().get(b).rewardChosen(), "r_c under " + cfg);
            assertEquals(dpo.pairs().get(b).rewardRejected(), aspo.pairs().get(b).rewardRejected(), "r_r under " + cfg);
            assertArrayEquals(d.gradChosen(b), a.gradChosen(b), "chosen gradient under " + cfg);
            assertArrayEquals(d.gradRejected(b), a.gradRejected(b), "rejected gradient under " + cfg);
        }
    }

    @Test
    void rewardRatioKeepsDpoValueAndMovesTheGradient() {
        Random rng = new Random(13);
        int moved = 0, fallbacks = 0, batchesCompared = 0;
        for (LossConfig base : List.of(LossConfig.aspo(), LossConfig.aspo().withRejectedWeighting(RejectedWeighting.INVERSE),
                LossConfig.aspo().withObjective(Objective.IPO), LossConfig.aspo().withLabelSmoothing(0.2))) {
            LossConfig cfg = base.withNormalization(Normalization.REWARD_RATIO);
            for (int trial = 0; trial < 10; trial++) {
                AspoReference.Pair[] batch = randomBatch(rng, 4, 5);
                Built a = build(batch), d = build(batch);
                LossResult aspo = run(cfg, a), dpo = run(dpoOf(cfg), d);
                boolean anyFallback = false;
                for (int b = 0; b < batch.length; b++) {
                    LossResult.PairResult pa = aspo.pairs().get(b), pd = dpo.pairs().get(b);
                    // a response that fell back is weighted by the mean rule, whose value is not DPO's
                    boolean chosenFell = pa.chosen().fallback(), rejectedFell = pa.rejected() != null && pa.rejected().fallback();
                    if (!chosenFell) assertEquals(pd.rewardChosen(), pa.rewardChosen(), "r_c");
                    if (!rejectedFell) assertEquals(pd.rewardRejected(), pa.rewardRejected(), "r_r");
                    if (!chosenFell && !rejectedFell) assertEquals(pd.loss(), pa.loss(), "record loss");
                    anyFallback |= chosenFell || rejectedFell;
                    if (chosenFell) fallbacks++;
                    else if (pa.chosen().sentences() > 1 && !Arrays.equals(d.gradChosen(b), a.gradChosen(b))) moved++;
                }
                if (!anyFallback) {
                    assertEquals(dpo.value(), aspo.value(), "loss under " + cfg);
                    batchesCompared++;
                }
            }
        }
        assertTrue(moved > 20, "the gradient was redistributed in " + moved + " records");
        assertTrue(fallbacks > 0, "random data also exercises the fallback");
        assertTrue(batchesCompared > 3, "batches without a fallback: " + batchesCompared);
    }

    @Test
    void weightsLieInZeroOneAndOmegaHasMeanOneUnderMean() {
        Random rng = new Random(14);
        for (LossConfig cfg : variants()) {
            for (int trial = 0; trial < 5; trial++) {
                LossResult result = PreferenceLoss.compute(cfg, build(randomBatch(rng, 4, 6)).pairs());
                for (LossResult.PairResult p : result.pairs()) {
                    for (ResponseWeights side : new ResponseWeights[] {p.chosen(), p.rejected()}) {
                        if (side == null) continue;
                        for (double w : side.weights()) assertTrue(w >= 0 && w <= 1, "w = " + w + " under " + cfg);
                        for (double x : side.perplexityScores()) assertTrue(x >= 0 && x <= 1, "P' = " + x);
                        if (cfg.normalization() == Normalization.MEAN || side.fallback()) {
                            double mean = Arrays.stream(side.omega()).average().orElseThrow();
                            assertEquals(1.0, mean, 1e-12, "mean omega under " + cfg);
                        }
                    }
                }
            }
        }
    }

    @Test
    void resultsDoNotDependOnRecordOrder() {
        Random rng = new Random(15);
        for (LossConfig cfg : variants()) {
            AspoReference.Pair[] batch = randomBatch(rng, 6, 4);
            List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5));
            Collections.shuffle(order, rng);
            AspoReference.Pair[] shuffled = new AspoReference.Pair[batch.length];
            for (int i = 0; i < batch.length; i++) shuffled[i] = batch[order.get(i)];
            Built x = build(batch), y = build(shuffled);
            LossResult rx = run(cfg, x), ry = run(cfg, y);
            assertEquals(rx.value(), ry.value(), 1e-6 * Math.abs(rx.value()), "mean loss under " + cfg);
            for (int i = 0; i < batch.length; i++) {
                int b = order.get(i);
                assertEquals(rx.pairs().get(b).loss(), ry.pairs().get(i).loss(), "record loss");
                assertArrayEquals(x.gradChosen(b), y.gradChosen(i), "chosen gradient");
                assertArrayEquals(x.gradRejected(b), y.gradRejected(i), "rejected gradient");
            }
        }
    }

    @Test
    void resultsDoNotDependOnPadding() {
        Random rng = new Random(16);
        for (LossConfig cfg : variants()) {
            AspoReference.Pair[] plain = new AspoReference.Pair[3], padded = new AspoReference.Pair[3];
            for (int b = 0; b < 3; b++) {
                plain[b] = randomPair(rng, 1 + rng.nextInt(4), 1 + rng.nextInt(4), false);
                AspoReference.Resp c = pad(rng, plain[b].chosen()), r = pad(rng, plain[b].rejected());
                padded[b] = new AspoReference.Pair(c, r);
            }
            Built x = build(plain), y = build(padded);
            LossResult rx = run(cfg, x), ry = run(cfg, y);
            assertEquals(rx.value(), ry.value(), 1e-6 * Math.max(1, Math.abs(rx.value())), "loss under " + cfg);
            for (int b = 0; b < 3; b++) {
                assertPaddedGradient(x.gradChosen(b), y.gradChosen(b), padded[b].chosen().ids());
                assertPaddedGradient(x.gradRejected(b), y.gradRejected(b), padded[b].rejected().ids());
            }
        }
    }

    /** Prompt tokens before and padding after, id -1, with arbitrary log-probs. */
    private static AspoReference.Resp pad(Random rng, AspoReference.Resp x) {
        int before = 1 + rng.nextInt(3), after = 1 + rng.nextInt(5), n = x.policy().length;
        double[] policy = new double[before + n + after], ref = new double[policy.length];
        int[] ids = new int[policy.length];
        for (int t = 0; t < policy.length; t++) {
            boolean inside = t >= before && t < before + n;
            policy[t] = inside ? x.policy()[t - before] : f(rng, -9, 0);
            ref[t] = inside ? x.ref()[t - before] : f(rng, -9, 0);
            ids[t] = inside ? x.idsOrZeros()[t - before] : -1;
        }
        return new AspoReference.Resp(policy, ref, ids, x.sim(), x.oracle());
    }

    private static void assertPaddedGradient(float[] plain, float[] padded, int[] ids) {
        int k = 0;
        for (int t = 0; t < padded.length; t++) {
            if (ids[t] < 0) {
                assertEquals(0f, padded[t], "no gradient for a padding token");
            } else {
                assertEquals(plain[k], padded[t], 1e-6 * Math.max(1e-3, Math.abs(plain[k])), "gradient of token " + t);
                k++;
            }
        }
        assertEquals(plain.length, k);
    }

    // ---- against the plain double reference -------------------------------------------------------

    @Test
    void matchesThePlainReferenceUnderEveryOption() {
        Random rng = new Random(17);
        for (LossConfig cfg : variants()) {
            for (int trial = 0; trial < 4; trial++) {
                AspoReference.Pair[] batch = randomBatch(rng, 3, 5);
                LossResult result = PreferenceLoss.compute(cfg, build(batch).pairs());
                double mean = 0;
                for (int b = 0; b < batch.length; b++) {
                    AspoReference.Result ref = AspoReference.pair(cfg, batch[b]);
                    LossResult.PairResult got = result.pairs().get(b);
                    String where = cfg + " record " + b;
                    assertClose(where + " loss", ref.loss(), got.loss(), 1e-5);
                    assertClose(where + " r_c", ref.rc(), got.rewardChosen(), 1e-5);
                    assertClose(where + " r_r", ref.rr(), got.rewardRejected(), 1e-5);
                    assertSameWeights(where + " chosen", ref.chosen(), got.chosen());
                    assertSameWeights(where + " rejected", ref.rejected(), got.rejected());
                    mean += ref.loss() / batch.length;
                }
                assertClose(cfg + " mean loss", mean, result.value(), 1e-5);
            }
        }
    }

    private static void assertSameWeights(String where, AspoReference.Weights ref, ResponseWeights got) {
        if (ref == null) {
            assertNull(got, where);
            return;
        }
        assertClose(where + " l", ref.l(), got.logRatios(), 1e-6);
        assertClose(where + " PPL", ref.ppl(), got.perplexities(), 1e-5);
        assertClose(where + " P'", ref.pScore(), got.perplexityScores(), 1e-5);
        assertClose(where + " S'", ref.sScore(), got.similarityScores(), 1e-9);
        assertClose(where + " w", ref.w(), got.weights(), 1e-5);
        assertEquals(ref.fallback(), got.fallback(), where + " fallback");
        assertClose(where + " omega", ref.omega(), got.omega(), 1e-4);
    }

    /**
     * Backward against central finite differences of the reference loss with the effective weights
     * held at their values: the weights (and the reward-ratio factor) are detached, so the gradient
     * the loss defines is that of the weighted sum with constant weights, even when the perplexity
     * source is the policy itself.
     */
    @Test
    void gradientMatchesFiniteDifferencesWithWeightsHeldFixed() {
        Random rng = new Random(18);
        List<LossConfig> configs = new ArrayList<>(variants());
        configs.add(LossConfig.dpo());
        configs.add(LossConfig.dpo().withObjective(Objective.IPO).withBeta(0.3));
        configs.add(LossConfig.dpo().withLabelSmoothing(0.25));
        for (LossConfig cfg : configs) {
            AspoReference.Pair[] batch = randomBatch(rng, 3, 4);
            Built built = build(batch);
            run(cfg, built);
            double[][] omegaC = new double[batch.length][], omegaR = new double[batch.length][];
            for (int b = 0; b < batch.length; b++) {
                AspoReference.Result r = AspoReference.pair(cfg, batch[b]);
                omegaC[b] = r.chosen() == null ? null : r.chosen().omega();
                omegaR[b] = r.rejected() == null ? null : r.rejected().omega();
            }
            for (int b = 0; b < batch.length; b++) {
                for (boolean chosen : new boolean[] {true, false}) {
                    double[] policy = chosen ? batch[b].chosen().policy() : batch[b].rejected().policy();
                    double[] numeric = new double[policy.length];
                    for (int t = 0; t < policy.length; t++) {
                        double saved = policy[t], h = 1e-5;
                        policy[t] = saved + h;
                        double plus = AspoReference.meanLossFixedWeights(cfg, batch, omegaC, omegaR);
                        policy[t] = saved - h;
                        double minus = AspoReference.meanLossFixedWeights(cfg, batch, omegaC, omegaR);
                        policy[t] = saved;
                        numeric[t] = (plus - minus) / (2 * h);
                    }
                    assertCloseScaled(cfg + " record " + b + (chosen ? " chosen" : " rejected"), numeric,
                            chosen ? built.gradChosen(b) : built.gradRejected(b), 1e-4);
                }
            }
        }
    }

    /**
     * With the reference as the perplexity source and mean normalisation nothing detached depends on
     * the policy, so finite differences through the code under test itself (float) must agree too.
     */
    @Test
    void gradientMatchesFiniteDifferencesThroughTheCodeWhenWeightsAreStatic() {
        Random rng = new Random(19);
        LossConfig cfg = LossConfig.aspo().withPerplexitySource(PerplexitySource.REFERENCE).withBeta(0.5)
                .withRejectedWeighting(RejectedWeighting.INVERSE);
        AspoReference.Pair[] batch = randomBatch(rng, 2, 4);
        Built built = build(batch);
        run(cfg, built);
        for (int b = 0; b < batch.length; b++) {
            for (boolean chosen : new boolean[] {true, false}) {
                double[] policy = chosen ? batch[b].chosen().policy() : batch[b].rejected().policy();
                double[] numeric = new double[policy.length];
                for (int t = 0; t < policy.length; t++) {
                    double saved = policy[t], h = 1.0 / 64;   // exact in float
                    policy[t] = saved + h;
                    double plus = PreferenceLoss.compute(cfg, build(batch).pairs()).value();
                    policy[t] = saved - h;
                    double minus = PreferenceLoss.compute(cfg, build(batch).pairs()).value();
                    policy[t] = saved;
                    numeric[t] = (plus - minus) / (2 * h);
                }
                assertCloseScaled("record " + b + (chosen ? " chosen" : " rejected"), numeric,
                        chosen ? built.gradChosen(b) : built.gradRejected(b), 2e-3);
            }
        }
    }

    // ---- the reward-ratio fallback ----------------------------------------------------------------

    /** A chosen response of two one-token sentences with log-ratios l and oracle weights w; rejected r_r = 0. */
    private static LossResult twoSentences(double l0, double l1, double w0, double w1) {
        AspoReference.Resp c = new AspoReference.Resp(new double[] {l0 - 1, l1 - 1}, new double[] {-1, -1}, new int[] {0, 1},
                null, new double[] {w0, w1});
        AspoReference.Resp r = new AspoReference.Resp(new double[] {-1}, new double[] {-1}, null, null, null);
        LossConfig cfg = LossConfig.aspo().withWeightSource(WeightSource.ORACLE).withNormalization(Normalization.REWARD_RATIO);
        return PreferenceLoss.compute(cfg, build(new AspoReference.Pair(c, r)).pairs());
    }

    @Test
    void rewardRatioFallsBackToMeanWhenTheWeightedSumVanishesOrFlipsSign() {
        // R_c = 1.5, R_c* = 2 * 1 + 1 * 0.5 = 2.5: ratio 0.6, omega = (1.2, 0.6)
        ResponseWeights ok = twoSentences(1, 0.5, 1, 0).pairs().get(0).chosen();
        assertFalse(ok.fallback());
        assertClose("omega", new double[] {1.2, 0.6}, ok.omega(), 1e-15);
        // R_c = -0.5, R_c* = 2 - 1.5 = 0.5: signs differ -> mean: omega = (1 + w) * 2 / 3 = (4/3, 2/3)
        ResponseWeights flipped = twoSentences(1, -1.5, 1, 0).pairs().get(0).chosen();
        assertTrue(flipped.fallback());
        assertClose("omega", new double[] {4.0 / 3, 2.0 / 3}, flipped.omega(), 1e-15);
        // R_c* = 2 * 1 + (-2) = 0 -> mean
        assertTrue(twoSentences(1, -2, 1, 0).pairs().get(0).chosen().fallback());
        // R_c = 0 exactly (sign 0) while R_c* = 1 -> mean
        assertTrue(twoSentences(1, -1, 1, 0).pairs().get(0).chosen().fallback());
        // the count reaches the metrics
        LossResult twice = twoSentences(1, -1.5, 1, 0);
        assertEquals(1.0, LossMetrics.of(twice).get("aspo/ratio_fallbacks"));
    }

    @Test
    void fallbackRecordsHaveTheMeanModeLoss() {
        AspoReference.Resp c = new AspoReference.Resp(new double[] {0, -2.5}, new double[] {-1, -1}, new int[] {0, 1}, null,
                new double[] {1, 0});
        AspoReference.Resp r = new AspoReference.Resp(new double[] {-1}, new double[] {-1}, null, null, null);
        LossConfig oracle = LossConfig.aspo().withWeightSource(WeightSource.ORACLE);
        LossResult ratio = PreferenceLoss.compute(oracle.withNormalization(Normalization.REWARD_RATIO),
                build(new AspoReference.Pair(c, r)).pairs());
        LossResult mean = PreferenceLoss.compute(oracle, build(new AspoReference.Pair(c, r)).pairs());
        assertTrue(ratio.pairs().get(0).chosen().fallback());
        assertEquals(mean.value(), ratio.value());
        // mean: omega = (4/3, 2/3), r_c* = 0.1 * (4/3 * 1 - 2/3 * 1.5) = 0.1/3
        assertClose("r_c*", 0.1 / 3, ratio.pairs().get(0).rewardChosen(), 1e-7);
    }

    // ---- bad input ----------------------------------------------------------------------------------

    private static void assertRejected(String expectedPart, LossConfig cfg, AspoReference.Resp chosen) {
        AspoReference.Resp r = new AspoReference.Resp(new double[] {-1}, new double[] {-1}, null, null, null);
        Built built = build(new AspoReference.Pair(chosen, r), new AspoReference.Pair(chosen, r));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreferenceLoss.compute(cfg, built.pairs()));
        assertTrue(e.getMessage().startsWith("record 0, chosen: ") && e.getMessage().contains(expectedPart), e.getMessage());
    }

    @Test
    void badRecordsAreRejectedWithTheRecordAndTheProblem() {
        double[] two = {-1, -2};
        assertRejected("sentence id 2 at token 1", LossConfig.aspo(), new AspoReference.Resp(two, two, new int[] {0, 2}, new double[] {1, 2}, null));
        assertRejected("sentence id 1 at token 0", LossConfig.aspo(), new AspoReference.Resp(two, two, new int[] {1, 1}, new double[] {1}, null));
        double[] three = {-1, -2, -3};
        assertRejected("sentence id 0 at token 2 after sentence 1", LossConfig.aspo(),
                new AspoReference.Resp(three, three, new int[] {0, 1, 0}, new double[] {1, 2}, null));
        assertRejected("3 sentence ids for 2 tokens", LossConfig.aspo(), new AspoReference.Resp(two, two, new int[] {0, 0, 0}, new double[] {1}, null));
        assertRejected("similarities need one value per sentence (2), got 1", LossConfig.aspo(),
                new AspoReference.Resp(two, two, new int[] {0, 1}, new double[] {1}, null));
        assertRejected("similarities need one value per sentence (2), got none", LossConfig.aspo(),
                new AspoReference.Resp(two, two, new int[] {0, 1}, null, null));
        assertRejected("oracle weights need one value per sentence", LossConfig.aspo().withWeightSource(WeightSource.ORACLE),
                new AspoReference.Resp(two, two, new int[] {0, 1}, null, null));
        assertRejected("oracle weight 1 is 1.5", LossConfig.aspo().withWeightSource(WeightSource.ORACLE),
                new AspoReference.Resp(two, two, new int[] {0, 1}, null, new double[] {0, 1.5}));
        assertRejected("no tokens", LossConfig.dpo(), new AspoReference.Resp(two, two, new int[] {-1, -1}, null, null));
        assertRejected("token 1 has a non-finite log-prob", LossConfig.dpo(),
                new AspoReference.Resp(new double[] {-1, Double.NEGATIVE_INFINITY}, two, null, null, null));
        // alpha = 0 needs no similarities
        AspoReference.Resp noSim = new AspoReference.Resp(two, two, new int[] {0, 1}, null, null);
        AspoReference.Resp r = new AspoReference.Resp(new double[] {-1}, new double[] {-1}, null, null, null);
        PreferenceLoss.compute(LossConfig.aspo().withAlpha(0), build(new AspoReference.Pair(noSim, r)).pairs());
        // config errors
        assertThrows(IllegalArgumentException.class, () -> LossConfig.aspo().withBeta(0));
        assertThrows(IllegalArgumentException.class, () -> LossConfig.aspo().withAlpha(1.5));
        assertThrows(IllegalArgumentException.class, () -> LossConfig.aspo().withLabelSmoothing(0.6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LossConfig.aspo().withObjective(Objective.IPO).withLabelSmoothing(0.1));
        assertTrue(e.getMessage().contains("sigmoid"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LossConfig.parse(Normalization.class, "Mean", "normalization"));
        assertEquals("normalization: unknown value \"Mean\" (expected one of mean, reward-ratio, none)", e.getMessage());
    }

    // ---- metrics ----------------------------------------------------------------------------------

    @Test
    void metricsCarryTheNamesOfAspoMdAndTheirValues() {
        Random rng = new Random(20);
        AspoReference.Pair[] batch = randomBatch(rng, 3, 4);
        LossConfig cfg = LossConfig.aspo().withRejectedWeighting(RejectedWeighting.INVERSE);
        LossResult result = PreferenceLoss.compute(cfg, build(batch).pairs());
        Map<String, Double> m = LossMetrics.of(result);
        assertEquals(List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                "logps/rejected", "aspo/sentences", "aspo/weight_mean", "aspo/weight_std", "aspo/omega_max",
                "aspo/ratio_fallbacks"), new ArrayList<>(m.keySet()));
        double rc = 0, rr = 0, acc = 0, lc = 0, lr = 0, k = 0, omegaMax = 0;
        List<Double> ws = new ArrayList<>();
        for (AspoReference.Pair p : batch) {
            AspoReference.Result r = AspoReference.pair(cfg, p);
            rc += r.rc() / 3;
            rr += r.rr() / 3;
            acc += (r.rc() > r.rr() ? 1 : 0) / 3.0;
            for (int t = 0; t < p.chosen().policy().length; t++) if (p.chosen().ids()[t] >= 0) lc += p.chosen().policy()[t] / 3;
            for (int t = 0; t < p.rejected().policy().length; t++) if (p.rejected().ids()[t] >= 0) lr += p.rejected().policy()[t] / 3;
            k += p.chosen().sentences() / 3.0;
            for (double w : r.chosen().w()) ws.add(w);
            for (double o : r.chosen().omega()) omegaMax = Math.max(omegaMax, o);
            for (double o : r.rejected().omega()) omegaMax = Math.max(omegaMax, o);
        }
        double wMean = ws.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double wVar = ws.stream().mapToDouble(w -> (w - wMean) * (w - wMean)).average().orElseThrow();
        assertClose("rewards/chosen", rc, m.get("rewards/chosen"), 1e-6);
        assertClose("rewards/rejected", rr, m.get("rewards/rejected"), 1e-6);
        assertClose("rewards/margins", rc - rr, m.get("rewards/margins"), 1e-6);
        assertEquals(acc, m.get("rewards/accuracies"), 1e-12);
        assertClose("logps/chosen", lc, m.get("logps/chosen"), 1e-6);
        assertClose("logps/rejected", lr, m.get("logps/rejected"), 1e-6);
        assertEquals(k, m.get("aspo/sentences"), 1e-12);
        assertClose("aspo/weight_mean", wMean, m.get("aspo/weight_mean"), 1e-5);
        assertClose("aspo/weight_std", Math.sqrt(wVar), m.get("aspo/weight_std"), 1e-5);
        assertClose("aspo/omega_max", omegaMax, m.get("aspo/omega_max"), 1e-5);
        assertEquals(0.0, m.get("aspo/ratio_fallbacks"));
        assertEquals((double) result.value(), m.get("loss"));
        assertFalse(LossMetrics.of(PreferenceLoss.compute(LossConfig.dpo(), build(batch).pairs())).containsKey("aspo/sentences"));
    }
}
