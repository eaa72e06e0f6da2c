package dev.aspo.method.loss;

import dev.aspo.opencl.PreferenceKernels;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@link PreferenceLoss} for a whole batch as one autograd op on the OpenCL device
 * ({@link PreferenceKernels}): three kernel launches forward (the per-record sentence sums, weights,
 * rewards and losses; the mean), one backward, instead of a few dozen small tensor ops per record.
 *
 * <pre>
 *   lp [2n, T] (device, with graph), ref [2n*T], sentence ids [2n*T], similarities per record
 *   --upload ref, ids, similarities--&gt; pref_records, pref_mean --&gt; loss [1] (recorded op)
 *   backward: dL/dlp[t] = -/+ dloss/dd * beta * omega_{s(t)} / n   (chosen -, rejected +)
 * </pre>
 *
 * The weights are constants for the gradient (docs/METHOD.md step 8), exactly as on the CPU path; the
 * numbers agree with {@link PreferenceLoss} to float rounding (DevicePreferenceLossTest). The
 * per-record results (rewards, log-prob sums, sentence weights for the metrics) come back in one
 * small download per step. Every configuration runs here: the sigmoid and ipo objectives, label
 * smoothing, adaptive or oracle weights, any normalisation, perplexity source and rejected
 * weighting; {@link #supports} only asks for an OpenCL backend.
 *
 * <p>In a recorded {@code TaskGraph} step the weights are recomputed on replay (they are device
 * values, not host decisions), so a replay on new log-probs gives their loss and gradient; the
 * per-pair host results of the returned {@link LossResult} are those of the recording run. The
 * sentence ids cannot be a plan's input (they are checked on the host as a whole), so a plan keeps
 * the recorded sentence layout; reference log-probs and similarities can be.
 */
public final class DevicePreferenceLoss {
    private DevicePreferenceLoss() {}

    /** Whether this op computes {@code config} for log-probs on {@code backend} (any config on OpenCL but normalization none, which the op path computes). */
    public static boolean supports(LossConfig config, Backend backend) {
        return PreferenceKernels.supports(backend) && config.normalization() != LossConfig.Normalization.NONE;
    }

    /**
     * @param lp          policy log-probs {@code [2n, T]} on the device (rows {@code 0..n-1} chosen)
     * @param ref         reference log-probs {@code [2n * T]}
     * @param sentenceIds per position the sentence of its token, -1 outside the response {@code [2n * T]};
     *                    for a response that is not weighted, every id &gt;= 0 counts as sentence 0
     * @param simChosen   per record the chosen sentences' similarities (ASPO, alpha &gt; 0), or with
     *                    {@code weights: oracle} their ground-truth weights in [0, 1]; else null
     * @param simRejected per record the rejected sentences' ({@code rejected-weighting = inverse}), else null
     */
    public static LossResult compute(LossConfig config, Tensor lp, float[] ref, int[] sentenceIds, List<double[]> simChosen,
                                     List<double[]> simRejected) {
        if (lp.rank() != 2 || lp.size(0) % 2 != 0 || lp.size(0) == 0) {
            throw new IllegalArgumentException("device preference loss: need [2n, T] log-probs, got " + Arrays.toString(lp.shape()));
        }
        return enqueue(config, lp, ref, inputs(config, lp.size(0), lp.size(1), sentenceIds, simChosen, simRejected)).result();
    }

    /**
     * What the kernels read of a batch besides the log-probs, built and checked on the host: the
     * sentence ids as the device takes them (a response that is not weighted in sentence 0) and
     * the similarities (or oracle weights) as float pairs, each weighted row's at a fixed place
     * ({@code row * T}), so that only values change from batch to batch: a recorded step takes
     * {@link #ids} and {@link #similarities} as its inputs.
     */
    public record DeviceInputs(int[] ids, float[] similarities, int records, int seq, boolean[] hasSimilarities) {
        /** Where row {@code r}'s similarity pairs start: {@code seq} places for each earlier row that has them. */
        int[] offsets() {
            int[] out = new int[hasSimilarities.length + 1];
            for (int r = 0; r < hasSimilarities.length; r++) out[r + 1] = out[r] + (hasSimilarities[r] ? seq : 0);
            return out;
        }
    }

    /** {@link DeviceInputs} of a batch of {@code rows x t} log-probs; every record's ids and similarities are checked here. */
    public static DeviceInputs inputs(LossConfig config, int rows, int t, int[] sentenceIds, List<double[]> simChosen,
                                      List<double[]> simRejected) {
        int n = rows / 2, cells = rows * t;
        if (sentenceIds.length != cells) {
            throw new IllegalArgumentException("device preference loss: " + sentenceIds.length + " sentence ids for " + rows
                    + " x " + t + " log-probs");
        }
        boolean weighC = config.weightsChosen(), weighR = config.weightsRejected();
        boolean oracle = config.weightSource() == LossConfig.WeightSource.ORACLE;
        int[] ids = sentenceIds.clone();
        int[] offsets = new int[rows + 1];
        boolean[] has = new boolean[rows];
        List<double[]> sims = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            boolean chosen = r < n, weighted = chosen ? weighC : weighR;
            String where = "record " + (r % n) + ", " + (chosen ? "chosen" : "rejected");
            int[] row = Arrays.copyOfRange(ids, r * t, (r + 1) * t);
            int k = SentenceIds.count(row, where);
            if (k == 0) throw new IllegalArgumentException(where + ": the response has no tokens");
            if (!weighted) {
                for (int i = r * t; i < (r + 1) * t; i++) if (ids[i] > 0) ids[i] = 0;   // whole response: K = 1
            }
            List<double[]> side = chosen ? simChosen : simRejected;
            double[] s = weighted && side != null ? side.get(r % n) : null;
            String what = oracle ? "oracle weight" : "similarity";
            if (weighted && (s == null ? oracle || config.alpha() > 0 : s.length != k)) {
                throw new IllegalArgumentException(where + ": " + (oracle ? "oracle weights" : "similarities")
                        + " need one value per sentence (" + k + "), got " + (s == null ? "none" : s.length));
            }
            if (s != null) {
                for (int i = 0; i < s.length; i++) {
                    if (oracle ? !(s[i] >= 0 && s[i] <= 1) : !Double.isFinite(s[i])) {
                        throw new IllegalArgumentException(where + ": " + what + " " + i + " is " + s[i]
                                + (oracle ? ", not in [0, 1]" : ""));
                    }
                }
            }
            sims.add(s);
            has[r] = s != null;
            offsets[r + 1] = offsets[r] + (s == null ? 0 : t);   // a fixed stride: K <= T values, the rest zero
        }
        float[] pairs = new float[2 * offsets[rows]];
        for (int r = 0; r < rows; r++) {
            double[] s = sims.get(r);
            if (s == null) continue;
            for (int i = 0; i < s.length; i++) {
                float hi = (float) s[i];
                pairs[2 * (offsets[r] + i)] = hi;
                pairs[2 * (offsets[r] + i) + 1] = (float) (s[i] - hi);
            }
        }
        return new DeviceInputs(ids, pairs, n, t, has);
    }

    /**
     * Enqueues the loss of a batch (the kernels, and its autograd op when {@code lp} is recording);
     * {@link Pending#result} reads the per-pair results back, then or after a replay.
     */
    public static Pending enqueue(LossConfig config, Tensor lp, float[] ref, DeviceInputs in) {
        Backend be = lp.backend();
        if (!supports(config, be)) {
            throw new IllegalArgumentException("device preference loss: " + config.lossType().key() + " with objective "
                    + config.objective().key() + " and weights " + config.weightSource().key() + " on " + be.name()
                    + " is not supported (OpenCL only)");
        }
        int rows = lp.size(0), n = rows / 2, t = lp.size(1), cells = rows * t;
        if (rows != 2 * in.records() || t != in.seq()) {
            throw new IllegalArgumentException("device preference loss: inputs for " + 2 * in.records() + " x " + in.seq()
                    + ", log-probs " + Arrays.toString(lp.shape()));
        }
        if (ref.length != cells) {
            throw new IllegalArgumentException("device preference loss: " + ref.length + " reference log-probs for " + rows
                    + " x " + t + " log-probs");
        }
        boolean oracle = config.weightSource() == LossConfig.WeightSource.ORACLE;
        int flags = (config.weightsChosen() ? PreferenceKernels.WEIGHT_CHOSEN : 0)
                | (config.weightsRejected() ? PreferenceKernels.WEIGHT_REJECTED : 0)
                | (config.normalization() == LossConfig.Normalization.REWARD_RATIO ? PreferenceKernels.REWARD_RATIO : 0)
                | (config.perplexitySource() == LossConfig.PerplexitySource.REFERENCE ? PreferenceKernels.PERPLEXITY_REFERENCE : 0)
                | (config.objective() == LossConfig.Objective.IPO ? PreferenceKernels.IPO : 0)
                | (oracle ? PreferenceKernels.ORACLE : 0);

        Storage refS = be.upload(ref), simS = be.upload(in.similarities());
        Storage idsS = PreferenceKernels.ints(be, in.ids(), values -> {   // a replayed batch's ids get the same checks
            for (int r = 0; r < rows; r++) {
                String where = "record " + (r % n) + ", " + (r < n ? "chosen" : "rejected");
                if (SentenceIds.count(Arrays.copyOfRange(values, r * t, (r + 1) * t), where) == 0) {
                    throw new IllegalArgumentException(where + ": the response has no tokens");
                }
            }
        });
        Storage offS = PreferenceKernels.ints(be, in.offsets());
        Storage sent = be.allocate(PreferenceKernels.SENTENCE_FIELDS * cells);
        Storage rec = be.allocate(PreferenceKernels.RECORD_FIELDS * n);
        Tensor loss = Tensor.zeros(be, 1);
        PreferenceKernels.forward(be, lp.storage(), refS, idsS, simS, offS, n, t, flags, (float) config.beta(),
                (float) config.labelSmoothing(), (float) (-1 / (2 * config.beta())), (float) config.alpha(), sent, rec,
                loss.storage());
        if (Autograd.isRecording(lp)) {
            Autograd.record(loss, "preferenceLoss",
                    () -> PreferenceKernels.backward(be, loss.gradBuffer(), rec, sent, idsS, lp.gradBuffer(), n, t), lp);
        }
        return new Pending(config, lp, ref, loss, rec, sent, n, t, in.hasSimilarities(), oracle);
    }

    /** An enqueued loss: the tensor, and the device buffers its per-pair results are read from. */
    public static final class Pending {
        private final LossConfig config;
        private final Tensor lp, loss;
        private final float[] ref;
        private final Storage rec, sent;
        private final int n, t;
        private final boolean[] hasSimilarities;
        private final boolean oracle;

        private Pending(LossConfig config, Tensor lp, float[] ref, Tensor loss, Storage rec, Storage sent, int n, int t,
                        boolean[] hasSimilarities, boolean oracle) {
            this.config = config;
            this.lp = lp;
            this.ref = ref;
            this.loss = loss;
            this.rec = rec;
            this.sent = sent;
            this.n = n;
            this.t = t;
            this.hasSimilarities = hasSimilarities;
            this.oracle = oracle;
        }

        public Tensor loss() {
            return loss;
        }

        /** Reads the per-pair results back (a non-finite log-prob is an error naming record and token). */
        public LossResult result() {
            Backend be = loss.backend();
            int rows = 2 * n;
            boolean weighC = config.weightsChosen(), weighR = config.weightsRejected();
            float[] recHost = new float[rec.size()];
            be.download(rec, 0, recHost, recHost.length);
            float[] sentHost = null;
            if (weighC || weighR) {
                sentHost = new float[sent.size()];
                be.download(sent, 0, sentHost, sentHost.length);
            }
            List<LossResult.PairResult> results = new ArrayList<>(n);
            for (int j = 0; j < n; j++) {
                int o = j * PreferenceKernels.RECORD_FIELDS;
                int bad = (int) recHost[o + PreferenceKernels.R_BAD_TOKEN];
                if (bad >= 0) {
                    int r = bad / t;
                    float[] policy = lp.toFloatArray();
                    throw new IllegalArgumentException("record " + j + ", " + (r < n ? "chosen" : "rejected") + ": token "
                            + bad % t + " has a non-finite log-prob (policy " + policy[bad] + ", reference " + ref[bad] + ")");
                }
                ResponseWeights wc = weighC ? weights(sentHost, rows, t, j, (int) recHost[o + PreferenceKernels.R_K_C],
                        hasSimilarities[j] && !oracle, recHost[o + PreferenceKernels.R_FALLBACK_C] != 0) : null;
                ResponseWeights wr = weighR ? weights(sentHost, rows, t, n + j, (int) recHost[o + PreferenceKernels.R_K_R],
                        hasSimilarities[n + j] && !oracle, recHost[o + PreferenceKernels.R_FALLBACK_R] != 0) : null;
                results.add(new LossResult.PairResult(recHost[o + PreferenceKernels.R_LOSS],
                        recHost[o + PreferenceKernels.R_REWARD_C], recHost[o + PreferenceKernels.R_REWARD_R],
                        (double) recHost[o + PreferenceKernels.R_LOGPS_C_HI] + recHost[o + PreferenceKernels.R_LOGPS_C_LO],
                        (double) recHost[o + PreferenceKernels.R_LOGPS_R_HI] + recHost[o + PreferenceKernels.R_LOGPS_R_LO],
                        wc, wr));
            }
            return new LossResult(config, loss, results);
        }
    }

    /** Row {@code row}'s sentence quantities from the host copy of the sentence buffer. */
    private static ResponseWeights weights(float[] sent, int rows, int t, int row, int k, boolean similarities, boolean fallback) {
        return new ResponseWeights(ints(field(sent, PreferenceKernels.S_COUNT, rows, t, row, k)),
                field(sent, PreferenceKernels.S_LOGRATIO, rows, t, row, k), field(sent, PreferenceKernels.S_PPL, rows, t, row, k),
                field(sent, PreferenceKernels.S_PSCORE, rows, t, row, k),
                similarities ? field(sent, PreferenceKernels.S_SSCORE, rows, t, row, k) : null,
                field(sent, PreferenceKernels.S_WEIGHT, rows, t, row, k), field(sent, PreferenceKernels.S_OMEGA, rows, t, row, k),
                fallback);
    }

    private static double[] field(float[] sent, int f, int rows, int t, int row, int k) {
        double[] out = new double[k];
        int base = (f * rows + row) * t;
        for (int i = 0; i < k; i++) out[i] = sent[base + i];
        return out;
    }

    private static int[] ints(double[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (int) v[i];
        return out;
    }
}
