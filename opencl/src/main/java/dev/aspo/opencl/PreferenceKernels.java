package dev.aspo.opencl;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

/**
 * The device kernels of the DPO / ASPO sentence-level loss ({@code preference.cl}): the whole
 * per-record computation of docs/METHOD.md steps 2-8 in one launch (one work-item per record), the mean
 * over records in a second, and the gradient with respect to the policy log-probs in a third.
 * {@code dev.aspo.method.loss.DevicePreferenceLoss} turns them into one autograd op.
 *
 * <p>Layouts ({@code rows = 2 * records}, rows {@code 0..records-1} chosen, then rejected):
 * <ul>
 *   <li>{@code lp}, {@code ref}: {@code [rows, seq]} floats; {@code ids}: {@code [rows, seq]} ints
 *       ({@link #ints}), per row 0-based contiguous sentence ids, -1 outside the response;</li>
 *   <li>{@code sim}: the similarities of all rows, each as a float pair {@code hi, lo} (a double
 *       {@code hi + lo}); {@code simOffsets}: {@code rows + 1} ints, row r's similarities are pairs
 *       from {@code simOffsets[r]}, its first K used (none when {@code simOffsets[r+1] == simOffsets[r]}:
 *       all {@code S'} are 0, as with alpha 0);</li>
 *   <li>{@code sentences}: {@code SENTENCE_FIELDS * rows * seq} floats, field f of row r sentence i at
 *       {@code (f * rows + r) * seq + i};</li>
 *   <li>{@code perRecord}: {@code RECORD_FIELDS} floats per record ({@code R_*});</li>
 *   <li>{@code loss}: one float, the mean loss.</li>
 * </ul>
 * Objectives: {@code sigmoid} (with label smoothing) and {@code ipo} ({@link #IPO}); weights:
 * adaptive, or given per sentence ({@link #ORACLE}: the labels take the similarities' place in
 * {@code sim}, one per sentence of every weighted row).
 */
public final class PreferenceKernels {
    /**
     * Flags: weigh the chosen rows (ASPO), the rejected rows ({@code inverse}), {@code reward-ratio},
     * reference perplexity, the {@code ipo} objective, oracle weights.
     */
    public static final int WEIGHT_CHOSEN = 1, WEIGHT_REJECTED = 2, REWARD_RATIO = 4, PERPLEXITY_REFERENCE = 8, IPO = 16,
            ORACLE = 32;

    public static final int SENTENCE_FIELDS = 8;
    /** Per-sentence fields: l_i, PPL_i, P'_i, S'_i, w_i, omega_i, n_i, sum of log pi_src. */
    public static final int S_LOGRATIO = 0, S_PPL = 1, S_PSCORE = 2, S_SSCORE = 3, S_WEIGHT = 4, S_OMEGA = 5,
            S_COUNT = 6, S_SRCSUM = 7;

    public static final int RECORD_FIELDS = 16;
    /**
     * Per-record fields: loss, r_c*, r_r*, logps of chosen and rejected (float pairs hi, lo), the
     * gradient coefficient {@code dloss/d(r_r - r_c) * beta / records}, fallback flags (1 or 0),
     * the first non-finite token ({@code row * seq + t}, -1 when none), K of chosen and rejected,
     * and the factor on each side's sum (1, or {@code 1/n} tokens under ipo).
     */
    public static final int R_LOSS = 0, R_REWARD_C = 1, R_REWARD_R = 2, R_LOGPS_C_HI = 3, R_LOGPS_C_LO = 4,
            R_LOGPS_R_HI = 5, R_LOGPS_R_LO = 6, R_COEF = 7, R_FALLBACK_C = 8, R_FALLBACK_R = 9, R_BAD_TOKEN = 10,
            R_K_C = 11, R_K_R = 12, R_SCALE_C = 13, R_SCALE_R = 14;

    /**
     * Below this range a min-max normalisation gives zeros (docs/METHOD.md step 5); {@code reward-ratio}
     * falls back to {@code mean} when {@code |R_c*|} is below {@link #RATIO_EPSILON} (step 7). The
     * CPU path ({@code dev.aspo.method.loss.SentenceWeights}) reads the same two numbers from here:
     * this module cannot see the method's, and the two paths must agree.
     */
    public static final double DEGENERATE_RANGE = 1e-12, RATIO_EPSILON = 1e-6;

    private PreferenceKernels() {}

    /**
     * The compiler options that define every constant of this class in {@code preference.cl}
     * ({@code -DNAME=value}): the kernels have no copies of these numbers.
     */
    static String buildOptions() {
        StringBuilder options = new StringBuilder();
        for (Field f : PreferenceKernels.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (!(Modifier.isPublic(m) && Modifier.isStatic(m) && Modifier.isFinal(m))) continue;
            try {
                if (f.getType() == int.class) options.append(" -D").append(f.getName()).append('=').append(f.getInt(null));
                else if (f.getType() == double.class) options.append(" -D").append(f.getName()).append('=').append(f.getDouble(null));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        return options.toString().trim();
    }

    /** Whether {@code backend} runs these kernels. */
    public static boolean supports(Backend backend) {
        return backend instanceof OpenClBackend;
    }

    /**
     * An int array on the device (sentence ids, offsets), freed when the storage is unreachable; a
     * task graph keeps it fixed (it cannot be bound to an input: see the overload with a check).
     */
    public static Storage ints(Backend backend, int[] values) {
        return cl(backend).uploadInts(values, "preference ids", null);
    }

    /**
     * The same for an array a task graph may bind to an input: {@code check} validates a replayed
     * batch's values (it throws {@code IllegalArgumentException}) before anything is enqueued.
     */
    public static Storage ints(Backend backend, int[] values, java.util.function.Consumer<int[]> check) {
        return cl(backend).uploadInts(values, "preference ids", java.util.Objects.requireNonNull(check, "check"));
    }

    /**
     * Enqueues the loss: fills {@code sentences}, {@code perRecord} and {@code loss} (nothing is
     * downloaded). The ids must already be checked (contiguous runs, below seq). {@code ipoMargin}
     * is ipo's {@code -1 / (2 beta)} rounded to float (unused by sigmoid).
     */
    public static void forward(Backend backend, Storage lp, Storage ref, Storage ids, Storage sim, Storage simOffsets,
                               int records, int seq, int flags, float beta, float labelSmoothing, float ipoMargin,
                               float alpha, Storage sentences, Storage perRecord, Storage loss) {
        long cells = 2L * records * seq;
        need(lp, cells, "policy log-probs");
        need(ref, cells, "reference log-probs");
        need(ids, cells, "sentence ids");
        need(simOffsets, 2L * records + 1, "similarity offsets");
        need(sentences, SENTENCE_FIELDS * cells, "sentence buffer");
        need(perRecord, (long) RECORD_FIELDS * records, "record buffer");
        need(loss, 1, "loss");
        if (records <= 0 || seq <= 0) throw new IllegalArgumentException("preference kernels: " + records + " records of " + seq + " tokens");
        cl(backend).preferenceForward(lp, ref, ids, sim, simOffsets, records, seq, flags, beta, labelSmoothing, ipoMargin,
                alpha, sentences, perRecord, loss);
    }

    /** Enqueues {@code gLp[t] += gLoss * dloss/dlp[t]} from the forward's buffers. */
    public static void backward(Backend backend, Storage gLoss, Storage perRecord, Storage sentences, Storage ids,
                                Storage gLp, int records, int seq) {
        need(gLp, 2L * records * seq, "log-prob gradient");
        cl(backend).preferenceBackward(gLoss, perRecord, sentences, ids, gLp, records, seq);
    }

    private static OpenClBackend cl(Backend backend) {
        if (!(backend instanceof OpenClBackend)) {
            throw new IllegalArgumentException("preference kernels need the OpenCL backend, got " + backend.name());
        }
        return (OpenClBackend) backend;
    }

    private static void need(Storage s, long n, String what) {
        if (s.size() < n) throw new IllegalArgumentException("preference kernels: " + what + " holds " + s.size() + " values, needs " + n);
    }
}
