// DPO / ASPO's sentence-level loss on the device (docs/METHOD.md steps 2-8), the kernels behind
// PreferenceKernels.forward / backward. A separate program from kernels.cl, built on first use:
// its three kernels do not make every backend pay for (or PoCL rebuild) the main program.
//
//   lp, ref, ids [rows = 2n, T] --pref_records (one work-item per record: its chosen row j and
//       rejected row n + j)--> per sentence: l_i, n_i, PPL_i, P'_i, S'_i, w_i, omega_i
//                              per record: r_c*, r_r, loss, dloss/dr_c coefficient, logps, fallbacks
//   --pref_mean (one work-item)--> loss = mean over records
//   backward, per token: g_lp[t] += g_loss * (-/+ coefficient) * scale_row * omega_{s(t)}
//
// Objectives: sigmoid (softplus of the margin, optional label smoothing) or ipo ((z_c - z_r -
// 1/(2 beta))^2 on length-averaged sums: scale_row = 1/n_row, else 1). Weights: adaptive (fused
// from perplexity and similarity scores) or given per sentence (oracle labels, in the similarity
// buffer's place).
//
// The arithmetic follows PreferenceLoss and SentenceWeights on the CPU step by step: float where
// they use float tensors (d_t = lp - ref, d_t * omega, the rewards, softplus), double for the
// segment sums and the weights (acc_t, float only on a device without fp64). prelude.cl comes first.

// The flags (WEIGHT_CHOSEN, ..., ORACLE), the field indices (S_*, R_*), RECORD_FIELDS and the
// thresholds DEGENERATE_RANGE and RATIO_EPSILON are not defined here: OpenClBackend passes every
// constant of PreferenceKernels as a build option (-DNAME=value), so the host and the kernels read
// one copy of each number. Per-sentence fields: sent[(field * rows + row) * T + i]; per-record
// fields: rec[j * RECORD_FIELDS + field].
#ifndef RECORD_FIELDS
#error "build preference.cl with PreferenceKernels.buildOptions()"
#endif

float softplus_f(float x) { return x > 20.0f ? x : log1p(exp(x)); }
float sigmoid_f(float x) { return 1.0f / (1.0f + exp(-x)); }
acc_t sign_a(acc_t x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

// One response row: sentence sums, weights (when weighted) and the reward before beta, z.
float pref_row(int row, int rows, int T, __global const float* lp, __global const float* ref,
               __global const int* ids, __global const float* sim, __global const int* simOff,
               int weighted, int inverse, int flags, float alpha, __global float* sent,
               acc_t* logps, float* fallback, int* kOut, int* tokens, int* bad) {
    __global const float* p = lp + row * T;
    __global const float* q = ref + row * T;
    __global const int* id = ids + row * T;
    #define FIELD(f) (sent + ((f) * rows + row) * T)
    __global float* l = FIELD(S_LOGRATIO);
    __global float* cnt = FIELD(S_COUNT);
    __global float* src = FIELD(S_SRCSUM);
    // segment sums: the spans are contiguous runs (checked on the host), so one double per run
    int k = 0, cur = -1, n = 0, all = 0;
    acc_t accL = 0, accS = 0, lp_sum = 0;
    for (int t = 0; t < T; t++) {
        int s = id[t];
        if (s < 0) continue;
        float pv = p[t], qv = q[t];
        if (*bad < 0 && !(isfinite(pv) && isfinite(qv))) *bad = row * T + t;
        if (s != cur) {
            if (cur >= 0) { l[cur] = (float) accL; src[cur] = (float) accS; cnt[cur] = n; }
            cur = s; accL = 0; accS = 0; n = 0;
        }
        accL += (acc_t) (pv - qv);
        accS += (acc_t) ((flags & PERPLEXITY_REFERENCE) ? qv : pv);
        n++;
        all++;
        lp_sum += (acc_t) pv;
    }
    if (cur >= 0) { l[cur] = (float) accL; src[cur] = (float) accS; cnt[cur] = n; }
    k = cur + 1;
    *kOut = k;
    *tokens = all;
    *logps = lp_sum;
    __global float* omega = FIELD(S_OMEGA);
    *fallback = 0.0f;
    if (!weighted) {
        for (int i = 0; i < k; i++) omega[i] = 1.0f;
    } else {
        __global float* ppl = FIELD(S_PPL);
        __global float* ps = FIELD(S_PSCORE);
        __global float* ss = FIELD(S_SSCORE);
        __global float* w = FIELD(S_WEIGHT);
        // perplexity scores: min-max of -PPL_i; from the mean log-probs when a PPL overflows
        int finite = 1;
        acc_t mLo = INFINITY, mHi = -INFINITY;
        for (int i = 0; i < k; i++) {
            acc_t m = (acc_t) src[i] / (acc_t) cnt[i];
            acc_t v = exp(-m);
            ppl[i] = (float) v;
            finite &= isfinite(v) ? 1 : 0;
            mLo = fmin(mLo, m);
            mHi = fmax(mHi, m);
        }
        if (finite) {
            acc_t lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < k; i++) {
                acc_t v = -exp(-(acc_t) src[i] / (acc_t) cnt[i]);
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
            acc_t range = hi - lo;
            for (int i = 0; i < k; i++) {
                acc_t v = -exp(-(acc_t) src[i] / (acc_t) cnt[i]);
                ps[i] = range >= DEGENERATE_RANGE ? (float) ((v - lo) / range) : 0.0f;
            }
        } else {
            acc_t den = -expm1(mLo - mHi);
            for (int i = 0; i < k; i++) {
                ps[i] = mHi == mLo ? 0.0f : (float) (-expm1(mLo - (acc_t) src[i] / (acc_t) cnt[i]) / den);
            }
        }
        // similarity scores: min-max of the similarities (float pairs hi + lo: double values); with
        // oracle weights the buffer holds the labels instead and there are no similarity scores
        int s0 = simOff[row], ns = simOff[row + 1] - s0;
        int oracle = flags & ORACLE;
        if (oracle) {
            for (int i = 0; i < k; i++) ss[i] = 0.0f;
        } else if (ns > 0) {
            acc_t lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < k; i++) {
                acc_t v = (acc_t) sim[2 * (s0 + i)] + (acc_t) sim[2 * (s0 + i) + 1];
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
            acc_t range = hi - lo;
            for (int i = 0; i < k; i++) {
                acc_t v = (acc_t) sim[2 * (s0 + i)] + (acc_t) sim[2 * (s0 + i) + 1];
                ss[i] = range >= DEGENERATE_RANGE ? (float) ((v - lo) / range) : 0.0f;
            }
        } else {
            for (int i = 0; i < k; i++) ss[i] = 0.0f;
        }
        // fusion (clamped), inverse for the rejected response, then omega; the weights are kept in
        // double for omega (as on the CPU) and stored as floats
        acc_t total = 0, r = 0, rStar = 0;
        int equal = 1;
        acc_t w0 = 0;
        for (int i = 0; i < k; i++) {
            acc_t score = oracle ? (acc_t) sim[2 * (s0 + i)] + (acc_t) sim[2 * (s0 + i) + 1]
                                 : fmin((acc_t) 1, fmax((acc_t) 0, (acc_t) alpha * (acc_t) ss[i] + (1 - (acc_t) alpha) * (acc_t) ps[i]));
            acc_t wi = inverse ? 1 - score : score;
            if (i == 0) w0 = wi;
            equal &= wi == w0 ? 1 : 0;
            total += 1 + wi;
            r += (acc_t) l[i];
            rStar += (1 + wi) * (acc_t) l[i];
            w[i] = (float) wi;
        }
        int ratio = (flags & REWARD_RATIO) && !(fabs(rStar) < RATIO_EPSILON || sign_a(r) != sign_a(rStar));
        if ((flags & REWARD_RATIO) && !ratio) *fallback = 1.0f;
        for (int i = 0; i < k; i++) {
            // recompute w_i in double: the float copy would round omega differently from the CPU
            acc_t score = oracle ? (acc_t) sim[2 * (s0 + i)] + (acc_t) sim[2 * (s0 + i) + 1]
                                 : fmin((acc_t) 1, fmax((acc_t) 0, (acc_t) alpha * (acc_t) ss[i] + (1 - (acc_t) alpha) * (acc_t) ps[i]));
            acc_t wi = inverse ? 1 - score : score;
            omega[i] = ratio ? (float) (r / rStar * (1 + wi)) : equal ? 1.0f : (float) ((1 + wi) * k / total);
        }
    }
    // z = sum_t omega_{s(t)} d_t (float products, as the CPU's mul then sum)
    acc_t z = 0, plain = 0;
    for (int t = 0; t < T; t++) {
        int s = id[t];
        if (s < 0) continue;
        float d = p[t] - q[t];
        z += (acc_t) (d * omega[s]);
        plain += (acc_t) d;
    }
    float zf = (float) z;
    if (weighted && (flags & REWARD_RATIO) && *fallback == 0.0f) zf = zf + ((float) plain - zf);   // DPO's value
    return zf;
    #undef FIELD
}

__kernel void pref_records(__global const float* lp, __global const float* ref, __global const int* ids,
                           __global const float* sim, __global const int* simOff, int records, int T, int flags,
                           float beta, float labelSmoothing, float ipoMargin, float alpha, __global float* sent,
                           __global float* rec) {
    int j = get_global_id(0);
    if (j >= records) return;
    int rows = 2 * records, bad = -1, kc, kr, nc, nr;
    acc_t logpsC, logpsR;
    float fbC, fbR;
    float zc = pref_row(j, rows, T, lp, ref, ids, sim, simOff, flags & WEIGHT_CHOSEN, 0, flags, alpha, sent,
                        &logpsC, &fbC, &kc, &nc, &bad);
    float zr = pref_row(records + j, rows, T, lp, ref, ids, sim, simOff, flags & WEIGHT_REJECTED, 1, flags, alpha,
                        sent, &logpsR, &fbR, &kr, &nr, &bad);
    float scaleC = 1.0f, scaleR = 1.0f, loss, coef;
    // the rewards reported are beta times the summed log-ratios, also under ipo (as TRL logs them)
    float rc = zc * beta, rr = zr * beta;
    if (flags & IPO) {
        // TRL's ipo: the margin of mean log-ratios, (z_c - z_r - 1/(2 beta))^2; ipoMargin = -1/(2 beta)
        scaleC = 1.0f / nc;
        scaleR = 1.0f / nr;
        zc = zc * scaleC;
        zr = zr * scaleR;
        float x = (zc - zr) + ipoMargin;
        loss = x * x;
        coef = -2.0f * x / records;   // dL/dz_r; dL/dz_c is minus this
    } else {
        float d = zr * beta - zc * beta;   // -(r_c - r_r): -logsigmoid(m) = softplus(-m)
        loss = softplus_f(d);
        float dd = sigmoid_f(d);
        if (labelSmoothing > 0) {
            loss = loss * (1 - labelSmoothing) + softplus_f(-d) * labelSmoothing;
            dd = dd * (1 - labelSmoothing) - sigmoid_f(-d) * labelSmoothing;
        }
        coef = dd * beta / records;
    }
    __global float* o = rec + j * RECORD_FIELDS;
    o[R_LOSS] = loss;
    o[R_REWARD_C] = rc;
    o[R_REWARD_R] = rr;
    float hi = (float) logpsC;
    o[R_LOGPS_C_HI] = hi;
    o[R_LOGPS_C_LO] = (float) (logpsC - (acc_t) hi);
    hi = (float) logpsR;
    o[R_LOGPS_R_HI] = hi;
    o[R_LOGPS_R_LO] = (float) (logpsR - (acc_t) hi);
    o[R_COEF] = coef;   // dL/dz_r per unit omega and scale; dL/dz_c is minus this
    o[R_FALLBACK_C] = fbC;
    o[R_FALLBACK_R] = fbR;
    o[R_BAD_TOKEN] = bad;
    o[R_K_C] = kc;
    o[R_K_R] = kr;
    o[R_SCALE_C] = scaleC;
    o[R_SCALE_R] = scaleR;
}

// The mean over records, summed in a fixed order (deterministic).
__kernel void pref_mean(__global const float* rec, int records, __global float* loss) {
    if (get_global_id(0) != 0) return;
    acc_t s = 0;
    for (int j = 0; j < records; j++) s += (acc_t) rec[j * RECORD_FIELDS + R_LOSS];
    loss[0] = (float) (s / records);
}

// dL/dlp[row, t] = g * (-coef chosen, +coef rejected) * omega_{s(t)}, accumulated into g_lp.
__kernel void pref_backward(__global const float* gLoss, __global const float* rec, __global const float* sent,
                            __global const int* ids, __global float* gLp, int records, int T) {
    int i = get_global_id(0), rows = 2 * records;
    if (i >= rows * T) return;
    int s = ids[i];
    if (s < 0) return;
    int row = i / T, j = row % records;
    float scale = rec[j * RECORD_FIELDS + (row < records ? R_SCALE_C : R_SCALE_R)];
    float c = rec[j * RECORD_FIELDS + R_COEF] * scale * sent[(S_OMEGA * rows + row) * T + s];
    gLp[i] += gLoss[0] * (row < records ? -c : c);
}
