// The OpenCL kernels of OpenClBackend, one per Backend method (or a row-statistics kernel plus an
// elementwise one). Every kernel writes each output element from exactly one work-item, so results
// are race-free and deterministic; accumulations run in double where the device has it (acc_t).
// Sizes come as ints; every kernel bound-checks because global sizes are rounded up to work-groups.
// prelude.cl comes first (acc_t, no fma contraction).

// ---- memory -------------------------------------------------------------------------------

__kernel void fill(__global float* x, int off, int n, float v) {
    int i = get_global_id(0);
    if (i < n) x[off + i] = v;
}

__kernel void copy2d(__global const float* s, int sOff, int sLd, __global float* d, int dOff, int dLd,
                     int rows, int cols, int acc) {
    int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows) return;
    float v = s[sOff + r * sLd + c];
    int di = dOff + r * dLd + c;
    d[di] = acc ? d[di] + v : v;
}

__kernel void axpy(float alpha, __global const float* x, __global float* y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] += alpha * x[i];
}

__kernel void scale(__global float* x, int n, float alpha) {
    int i = get_global_id(0);
    if (i < n) x[i] *= alpha;
}

// Work-item g sums x[g], x[g+G], ... (fixed G: deterministic) and stores the sum as a float pair
// hi + lo, so double precision reaches the host even through a float buffer.
// part[at + 2g], part[at + 2g + 1]: work-item g's sum as a float pair hi + lo (a double's value)
__kernel void sumsq_partial(__global const float* x, int n, __global float* part, int at) {
    int g = get_global_id(0), G = get_global_size(0);
    acc_t s = 0;
    for (int i = g; i < n; i += G) s += (acc_t) x[i] * x[i];
    float hi = (float) s;
    part[at + 2 * g] = hi;
    part[at + 2 * g + 1] = (float) (s - (acc_t) hi);
}

// ---- matrix multiply -------------------------------------------------------------------------
//
// op(A)[i,p] = A[i*ars + p*acs], op(B)[p,j] = B[p*brs + j*bcs] (strides encode the transposes);
// C[batch] is contiguous [m,n].

// CPU devices: one work-item per RMx16 block of C (RM = 8 with AVX-512, 4 with AVX2, set at build
// time), the 16 columns as one float16 register row, no local memory, no barriers. Work-item jb
// reads the 16-column panel jb of B: row p of it at Bx + jb*panelStride + p*rowStride. A large or
// transposed B is first packed into contiguous panels, Bp[batch][n/16][k][16] (panelStride k*16,
// rowStride 16): read in place, a panel's rows are n floats apart, and at n = 512 or 1024 that
// power-of-two stride maps every row to the same L1 set. A small B with n % 16 == 0 is read in
// place (panelStride 16, rowStride n): packing costs more than it saves there.
#ifndef RM
#define RM 4
#endif
#define RN 16

__kernel void pack_b16(__global const float* B, int bStride, int brs, int bcs, __global float* Bp, int k, int n) {
    int j = get_global_id(0), p = get_global_id(1), bt = get_global_id(2);
    int nb = (n + RN - 1) / RN;
    if (j >= nb * RN || p >= k) return;
    Bp[((bt * nb + j / RN) * k + p) * RN + j % RN] = j < n ? B[bt * bStride + p * brs + j * bcs] : 0.0f;
}

__kernel void gemm_cpu(__global const float* A, int aStride, int ars, int acs,
                       __global const float* Bp, int bpStride, int panelStride, int rowStride,
                       __global float* C, int m, int n, int k, int acc) {
    int jb = get_global_id(0), j0 = jb * RN, i0 = get_global_id(1) * RM, bt = get_global_id(2);
    if (i0 >= m || j0 >= n) return;
    A += bt * aStride;
    Bp += bt * bpStride + jb * panelStride;
    C += bt * m * n;
    int cols = min(RN, n - j0);
    if (i0 + RM <= m) {
        float16 c[RM];
        for (int r = 0; r < RM; r++) c[r] = 0;
        __global const float* a0 = A + i0 * ars;
        for (int p = 0; p < k; p++) {
            float16 bv = vload16(0, Bp + p * rowStride);
            int ap = p * acs;
            #pragma unroll
            for (int r = 0; r < RM; r++) c[r] = fma((float16) a0[ap + r * ars], bv, c[r]);
        }
        for (int r = 0; r < RM; r++) {
            __global float* cp = C + (i0 + r) * n + j0;
            if (cols == RN) {
                vstore16(acc ? c[r] + vload16(0, cp) : c[r], 0, cp);
            } else {
                float t[RN];
                vstore16(c[r], 0, t);
                for (int l = 0; l < cols; l++) cp[l] = acc ? cp[l] + t[l] : t[l];
            }
        }
        return;
    }
    for (int i = i0; i < m; i++) {                // the last rows of C
        for (int l = 0; l < cols; l++) {
            float s = 0;
            for (int p = 0; p < k; p++) s = fma(A[i * ars + p * acs], Bp[p * rowStride + l], s);
            int ci = i * n + j0 + l;
            C[ci] = acc ? C[ci] + s : s;
        }
    }
}

// GPU devices: 64x64 tiles of C per 16x16 work-group, each work-item 4x4 outputs (strided by 16 so
// neighbouring work-items touch neighbouring columns), K in steps of 16 through local memory.
#define TS 64
#define KT 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void gemm_gpu(__global const float* A, int aStride, int ars, int acs,
              __global const float* B, int bStride, int brs, int bcs,
              __global float* C, int m, int n, int k, int acc) {
    __local float As[KT][TS + 1];
    __local float Bs[KT][TS];
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int j0 = get_group_id(0) * TS, i0 = get_group_id(1) * TS, bt = get_global_id(2);
    A += bt * aStride;
    B += bt * bStride;
    C += bt * m * n;
    float s[4][4];
    for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) s[r][c] = 0;
    for (int p0 = 0; p0 < k; p0 += KT) {
        for (int l = 0; l < 4; l++) {
            int e = tid + l * 256;
            int ii = acs == 1 ? e / KT : e % TS, pp = acs == 1 ? e % KT : e / TS;   // walk A's contiguous axis
            int gi = i0 + ii, gp = p0 + pp;
            As[pp][ii] = (gi < m && gp < k) ? A[gi * ars + gp * acs] : 0.0f;
            int jj = bcs == 1 ? e % TS : e / KT, qq = bcs == 1 ? e / TS : e % KT;
            int gj = j0 + jj, gq = p0 + qq;
            Bs[qq][jj] = (gj < n && gq < k) ? B[gq * brs + gj * bcs] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int pp = 0; pp < KT; pp++) {
            float a[4], b[4];
            for (int r = 0; r < 4; r++) a[r] = As[pp][ty + 16 * r];
            for (int c = 0; c < 4; c++) b[c] = Bs[pp][tx + 16 * c];
            for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) s[r][c] = fma(a[r], b[c], s[r][c]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int r = 0; r < 4; r++) {
        int i = i0 + ty + 16 * r;
        if (i >= m) continue;
        for (int c = 0; c < 4; c++) {
            int j = j0 + tx + 16 * c;
            if (j >= n) continue;
            int ci = i * n + j;
            C[ci] = acc ? C[ci] + s[r][c] : s[r][c];
        }
    }
}

// ---- elementwise ------------------------------------------------------------------------------

// UnaryOp ordinals
#define U_NEG 0
#define U_EXP 1
#define U_LOG 2
#define U_SQRT 3
#define U_RSQRT 4
#define U_SQUARE 5
#define U_TANH 6
#define U_SIGMOID 7
#define U_SOFTPLUS 8
#define U_RELU 9
#define U_GELU 10
#define U_GELU_TANH 11
#define U_QUICK_GELU 12
#define U_SILU 13

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f
#define GELU_CUBIC 0.044715f
#define QUICK_GELU_SCALE 1.702f

float sigm(float x) { return 1.0f / (1.0f + exp(-x)); }

float unary_f(int op, float x) {
    switch (op) {
        case U_NEG: return -x;
        case U_EXP: return exp(x);
        case U_LOG: return log(x);
        case U_SQRT: return sqrt(x);
        case U_RSQRT: return 1.0f / sqrt(x);
        case U_SQUARE: return x * x;
        case U_TANH: return tanh(x);
        case U_SIGMOID: return sigm(x);
        case U_SOFTPLUS: return x > 20.0f ? x : log1p(exp(x));
        case U_RELU: return fmax(x, 0.0f);
        case U_GELU: return 0.5f * x * erfc(-x * INV_SQRT_2);
        case U_GELU_TANH: return 0.5f * x * (1.0f + tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
        case U_QUICK_GELU: return x * sigm(QUICK_GELU_SCALE * x);
        case U_SILU: return x * sigm(x);
        default: return NAN;
    }
}

float unary_d(int op, float x, float y) {
    switch (op) {
        case U_NEG: return -1.0f;
        case U_EXP: return y;
        case U_LOG: return 1.0f / x;
        case U_SQRT: return 0.5f / y;
        case U_RSQRT: return -0.5f * y * y * y;
        case U_SQUARE: return 2.0f * x;
        case U_TANH: return 1.0f - y * y;
        case U_SIGMOID: return y * (1.0f - y);
        case U_SOFTPLUS: return sigm(x);
        case U_RELU: return x > 0.0f ? 1.0f : 0.0f;
        case U_GELU: return 0.5f * erfc(-x * INV_SQRT_2) + x * INV_SQRT_2PI * exp(-0.5f * x * x);
        case U_GELU_TANH: {
            float t = tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
            return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_CUBIC * x * x);
        }
        case U_QUICK_GELU: { float s = sigm(QUICK_GELU_SCALE * x); return s * (1.0f + QUICK_GELU_SCALE * x * (1.0f - s)); }
        case U_SILU: { float s = sigm(x); return s * (1.0f + x * (1.0f - s)); }
        default: return NAN;
    }
}

__kernel void unary(int op, __global const float* x, __global float* y, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = unary_f(op, x[i]);
}

__kernel void unary_backward(int op, __global const float* x, __global const float* y,
                             __global const float* gy, __global float* gx, int n) {
    int i = get_global_id(0);
    if (i < n) gx[i] += gy[i] * unary_d(op, x[i], y[i]);
}

__kernel void affine(__global const float* x, __global float* y, int n, float alpha, float beta) {
    int i = get_global_id(0);
    if (i < n) y[i] = alpha * x[i] + beta;
}

// BinaryOp ordinals
float binary_f(int op, float a, float b) {
    switch (op) { case 0: return a + b; case 1: return a - b; case 2: return a * b; default: return a / b; }
}

float binary_d(int op, int side, float a, float b) {
    switch (op) {
        case 0: return 1.0f;
        case 1: return side == 0 ? 1.0f : -1.0f;
        case 2: return side == 0 ? b : a;
        default: return side == 0 ? 1.0f / b : -(a / b) / b;
    }
}

// meta = [rank, shape[rank], aStrides[rank], bStrides[rank]]
__kernel void binary(int op, __global const float* a, __global const float* b, __global float* out,
                     __global const int* meta, int total) {
    int i = get_global_id(0);
    if (i >= total) return;
    int rank = meta[0], rem = i, ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; d--) {
        int s = meta[1 + d], c = rem % s;
        rem /= s;
        ia += c * meta[1 + rank + d];
        ib += c * meta[1 + 2 * rank + d];
    }
    out[i] = binary_f(op, a[ia], b[ib]);
}

// One work-item per element of the gradient: it walks the kept axes' index and sums over the
// broadcast axes (no atomics). meta = [rank, shape, aStr, bStr, nk, kept axes, nb, broadcast axes].
#define MAX_RANK 8
__kernel void binary_backward(int op, int side, __global const float* a, __global const float* b,
                              __global const float* gout, __global float* g, __global const int* meta,
                              int keptTotal, int bcastTotal) {
    int kidx = get_global_id(0);
    if (kidx >= keptTotal) return;
    int rank = meta[0];
    __global const int* shape = meta + 1;
    __global const int* as = meta + 1 + rank;
    __global const int* bs = meta + 1 + 2 * rank;
    int nk = meta[1 + 3 * rank];
    __global const int* kept = meta + 2 + 3 * rank;
    int nb = meta[2 + 3 * rank + nk];
    __global const int* bc = meta + 3 + 3 * rank + nk;
    int coord[MAX_RANK];
    for (int d = 0; d < rank; d++) coord[d] = 0;
    int rem = kidx;
    for (int q = nk - 1; q >= 0; q--) { int ax = kept[q]; coord[ax] = rem % shape[ax]; rem /= shape[ax]; }
    __global const int* gs = side == 0 ? as : bs;
    int gi = 0;
    for (int d = 0; d < rank; d++) gi += coord[d] * gs[d];
    float acc = 0.0f;
    for (int r = 0; r < bcastTotal; r++) {
        int rr = r;
        for (int q = nb - 1; q >= 0; q--) { int ax = bc[q]; coord[ax] = rr % shape[ax]; rr /= shape[ax]; }
        int ia = 0, ib = 0, io = 0;
        for (int d = 0; d < rank; d++) { ia += coord[d] * as[d]; ib += coord[d] * bs[d]; io = io * shape[d] + coord[d]; }
        acc += gout[io] * binary_d(op, side, a[ia], b[ib]);
    }
    g[gi] += acc;
}

// ---- reductions ---------------------------------------------------------------------------------

__kernel void reduce_sum(__global const float* x, __global float* y, int outer, int dim, int inner) {
    int t = get_global_id(0);
    if (t >= outer * inner) return;
    int o = t / inner, i = t % inner, base = o * dim * inner + i;
    acc_t s = 0;
    for (int d = 0; d < dim; d++) s += x[base + d * inner];
    y[t] = (float) s;
}

// first index on ties, NaN wins (as torch and the CPU backend)
__kernel void reduce_max(__global const float* x, __global float* y, __global float* idx, int hasIdx,
                         int outer, int dim, int inner) {
    int t = get_global_id(0);
    if (t >= outer * inner) return;
    int o = t / inner, i = t % inner, base = o * dim * inner + i;
    float best = x[base];
    int arg = 0;
    for (int d = 1; d < dim && best == best; d++) {
        float v = x[base + d * inner];
        if (v > best || v != v) { best = v; arg = d; }
    }
    y[t] = best;
    if (hasIdx) idx[t] = (float) arg;
}

__kernel void max_backward(__global const float* gy, __global const float* idx, __global float* gx, int outer,
                           int dim, int inner) {
    int t = get_global_id(0);
    if (t >= outer * inner) return;
    int o = t / inner, i = t % inner;
    gx[(o * dim + (int) idx[t]) * inner + i] += gy[t];
}

__kernel void sum_backward(__global const float* gy, __global float* gx, int outer, int dim, int inner) {
    int e = get_global_id(0);
    if (e >= outer * dim * inner) return;
    int i = e % inner, o = e / (dim * inner);
    gx[e] += gy[o * inner + i];
}

// Rows grouped by destination on the host (CSR: starts[u]..starts[u+1] index order[]), ascending
// source order inside a group: the same additions in the same order as the CPU.
__kernel void segment_sum(__global const float* x, __global const int* starts, __global const int* order,
                          __global float* y, int segments) {
    int s = get_global_id(0);
    if (s >= segments) return;
    acc_t acc = 0;
    for (int j = starts[s]; j < starts[s + 1]; j++) acc += x[order[j]];
    y[s] = (float) acc;
}

// segment_sum without the host's CSR (for recorded task graphs): the same sums in the same order
__kernel void segment_sum_scan(__global const float* x, __global const int* seg, __global float* y, int n,
                               int segments) {
    int s = get_global_id(0);
    if (s >= segments) return;
    acc_t acc = 0;
    for (int t = 0; t < n; t++) if (seg[t] == s) acc += x[t];
    y[s] = (float) acc;
}

// out[0] = 1 / max(1, #{target >= 0}): the mean cross-entropy's factor (one work-item)
__kernel void inverse_count(__global const int* target, int n, __global float* out) {
    if (get_global_id(0) != 0) return;
    int kept = 0;
    for (int i = 0; i < n; i++) kept += target[i] >= 0 ? 1 : 0;
    out[0] = 1.0f / (float) max(1, kept);
}

__kernel void segment_sum_backward(__global const float* gy, __global const int* seg, __global float* gx, int n) {
    int t = get_global_id(0);
    if (t < n && seg[t] >= 0) gx[t] += gy[seg[t]];
}

// ---- softmax and cross-entropy ------------------------------------------------------------------

// stats[2r] = row max, stats[2r+1] = log(sum) (log-softmax) or 1/sum (softmax)
__kernel void softmax_stats(__global const float* x, __global float* stats, int rows, int cols, int logMode) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* row = x + r * cols;
    float mx = -INFINITY;
    for (int c = 0; c < cols; c++) mx = fmax(mx, row[c]);
    acc_t s = 0;
    for (int c = 0; c < cols; c++) s += exp(row[c] - mx);
    stats[2 * r] = mx;
    stats[2 * r + 1] = logMode ? (float) log(s) : (float) (1.0 / s);
}

__kernel void softmax_apply(__global const float* x, __global const float* stats, __global float* y,
                            int rows, int cols, int logMode) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    int r = e / cols;
    float mx = stats[2 * r], t = stats[2 * r + 1];
    y[e] = logMode ? (x[e] - mx) - t : exp(x[e] - mx) * t;
}

// dot[r] = sum gy (log-softmax) or sum gy*y (softmax)
__kernel void softmax_backward_stats(__global const float* y, __global const float* gy, __global float* dot,
                                     int rows, int cols, int logMode) {
    int r = get_global_id(0);
    if (r >= rows) return;
    acc_t s = 0;
    for (int c = 0; c < cols; c++) s += logMode ? (acc_t) gy[r * cols + c] : (acc_t) gy[r * cols + c] * y[r * cols + c];
    dot[r] = (float) s;
}

__kernel void softmax_backward_apply(__global const float* y, __global const float* gy, __global const float* dot,
                                     __global float* gx, int rows, int cols, int logMode) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    float d = dot[e / cols];
    gx[e] += logMode ? gy[e] - exp(y[e]) * d : y[e] * (gy[e] - d);
}

__kernel void cross_entropy(__global const float* x, __global const int* target, __global float* loss,
                            __global float* lse, int rows, int cols) {
    int r = get_global_id(0);
    if (r >= rows) return;
    int t = target[r];
    if (t < 0) { loss[r] = 0; lse[r] = 0; return; }
    __global const float* row = x + r * cols;
    float mx = -INFINITY;
    for (int c = 0; c < cols; c++) mx = fmax(mx, row[c]);
    acc_t s = 0;
    for (int c = 0; c < cols; c++) s += exp(row[c] - mx);
    acc_t logSum = log(s);
    lse[r] = (float) (mx + logSum);
    loss[r] = (float) (((acc_t) mx - row[t]) + logSum);
}

__kernel void cross_entropy_backward(__global const float* x, __global const int* target, __global const float* lse,
                                     __global const float* gloss, __global float* gx, int rows, int cols) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    int r = e / cols, c = e % cols, t = target[r];
    if (t < 0) return;
    float g = gloss[r];
    float v = gx[e] + g * exp(x[e] - lse[r]);
    if (c == t) v -= g;
    gx[e] = v;
}

// GPU forms of the vocabulary-wide row kernels: one work-group of WG work-items per row, strided
// loads (coalesced), tree reductions in local memory. A serial row of 32000 logits per work-item
// would leave a GPU idle; on a CPU device the serial forms above are the better fit.
#define WG 128

float group_max(float v, __local float* tmp) {
    int l = get_local_id(0);
    tmp[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (l < s) tmp[l] = fmax(tmp[l], tmp[l + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = tmp[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

acc_t group_sum(acc_t v, __local acc_t* tmp) {
    int l = get_local_id(0);
    tmp[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (l < s) tmp[l] += tmp[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    acc_t r = tmp[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void softmax_stats_wg(__global const float* x, __global float* stats, int rows, int cols, int logMode) {
    __local float tm[WG];
    __local acc_t ts[WG];
    int r = get_group_id(0), l = get_local_id(0);
    __global const float* row = x + r * cols;
    float mx = -INFINITY;
    for (int c = l; c < cols; c += WG) mx = fmax(mx, row[c]);
    mx = group_max(mx, tm);
    acc_t s = 0;
    for (int c = l; c < cols; c += WG) s += exp(row[c] - mx);
    s = group_sum(s, ts);
    if (l == 0) {
        stats[2 * r] = mx;
        stats[2 * r + 1] = logMode ? (float) log(s) : (float) (1.0 / s);
    }
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void softmax_backward_stats_wg(__global const float* y, __global const float* gy, __global float* dot,
                               int rows, int cols, int logMode) {
    __local acc_t ts[WG];
    int r = get_group_id(0), l = get_local_id(0);
    acc_t s = 0;
    for (int c = l; c < cols; c += WG) s += logMode ? (acc_t) gy[r * cols + c] : (acc_t) gy[r * cols + c] * y[r * cols + c];
    s = group_sum(s, ts);
    if (l == 0) dot[r] = (float) s;
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void cross_entropy_wg(__global const float* x, __global const int* target, __global float* loss,
                      __global float* lse, int rows, int cols) {
    __local float tm[WG];
    __local acc_t ts[WG];
    int r = get_group_id(0), l = get_local_id(0), t = target[r];
    if (t < 0) {                                  // the whole group leaves: no barrier is split
        if (l == 0) { loss[r] = 0; lse[r] = 0; }
        return;
    }
    __global const float* row = x + r * cols;
    float mx = -INFINITY;
    for (int c = l; c < cols; c += WG) mx = fmax(mx, row[c]);
    mx = group_max(mx, tm);
    acc_t s = 0;
    for (int c = l; c < cols; c += WG) s += exp(row[c] - mx);
    s = group_sum(s, ts);
    if (l == 0) {
        acc_t logSum = log(s);
        lse[r] = (float) (mx + logSum);
        loss[r] = (float) (((acc_t) mx - row[t]) + logSum);
    }
}

// ---- normalisation ------------------------------------------------------------------------------

__kernel void layer_norm_stats(__global const float* x, __global float* mean, __global float* rstd,
                               int rows, int cols, float eps) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* row = x + r * cols;
    acc_t s = 0;
    for (int c = 0; c < cols; c++) s += row[c];
    float mu = (float) (s / cols);
    acc_t v = 0;
    for (int c = 0; c < cols; c++) { float d = row[c] - mu; v += (acc_t) d * d; }
    float var = (float) (v / cols);
    mean[r] = mu;
    rstd[r] = (float) (1.0 / sqrt((acc_t) (var + eps)));
}

__kernel void layer_norm_apply(__global const float* x, __global const float* w, __global const float* b, int hasB,
                               __global const float* mean, __global const float* rstd, __global float* y,
                               int rows, int cols) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    int r = e / cols, c = e % cols;
    float v = (x[e] - mean[r]) * rstd[r] * w[c];
    y[e] = hasB ? v + b[c] : v;
}

// st[2r] = mean(gy*w), st[2r+1] = mean(gy*w*xh)
__kernel void layer_norm_backward_stats(__global const float* x, __global const float* w, __global const float* mean,
                                        __global const float* rstd, __global const float* gy, __global float* st,
                                        int rows, int cols) {
    int r = get_global_id(0);
    if (r >= rows) return;
    float mu = mean[r], rs = rstd[r];
    acc_t sg = 0, sgx = 0;
    for (int c = 0; c < cols; c++) {
        float g = gy[r * cols + c] * w[c];
        sg += g;
        sgx += (acc_t) g * ((x[r * cols + c] - mu) * rs);
    }
    st[2 * r] = (float) (sg / cols);
    st[2 * r + 1] = (float) (sgx / cols);
}

__kernel void layer_norm_backward_dx(__global const float* x, __global const float* w, __global const float* mean,
                                     __global const float* rstd, __global const float* gy, __global const float* st,
                                     __global float* gx, int rows, int cols) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    int r = e / cols, c = e % cols;
    float rs = rstd[r], xh = (x[e] - mean[r]) * rs;
    gx[e] += (gy[e] * w[c] - st[2 * r] - xh * st[2 * r + 1]) * rs;
}

// one work-item per column: gw += sum_r gy * xh, gb += sum_r gy (row order, as the CPU)
__kernel void layer_norm_backward_dw(__global const float* x, __global const float* mean, __global const float* rstd,
                                     __global const float* gy, __global float* gw, int hasW,
                                     __global float* gb, int hasB, int rows, int cols) {
    int c = get_global_id(0);
    if (c >= cols) return;
    float aw = hasW ? gw[c] : 0, ab = hasB ? gb[c] : 0;
    for (int r = 0; r < rows; r++) {
        float g = gy[r * cols + c];
        aw += g * ((x[r * cols + c] - mean[r]) * rstd[r]);
        ab += g;
    }
    if (hasW) gw[c] = aw;
    if (hasB) gb[c] = ab;
}

__kernel void rms_norm_stats(__global const float* x, __global float* rstd, int rows, int cols, float eps) {
    int r = get_global_id(0);
    if (r >= rows) return;
    acc_t s = 0;
    for (int c = 0; c < cols; c++) { float v = x[r * cols + c]; s += (acc_t) v * v; }
    float ms = (float) (s / cols);
    rstd[r] = (float) (1.0 / sqrt((acc_t) (ms + eps)));
}

__kernel void rms_norm_apply(__global const float* x, __global const float* w, __global const float* rstd,
                             __global float* y, int rows, int cols) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    y[e] = w[e % cols] * (x[e] * rstd[e / cols]);
}

// k[r] = rstd^3 * sum(gy*w*x) / cols
__kernel void rms_norm_backward_stats(__global const float* x, __global const float* w, __global const float* rstd,
                                      __global const float* gy, __global float* k, int rows, int cols) {
    int r = get_global_id(0);
    if (r >= rows) return;
    acc_t s = 0;
    for (int c = 0; c < cols; c++) s += (acc_t) (gy[r * cols + c] * w[c]) * x[r * cols + c];
    float rs = rstd[r];
    k[r] = rs * rs * rs * (float) s / cols;
}

__kernel void rms_norm_backward_dx(__global const float* x, __global const float* w, __global const float* rstd,
                                   __global const float* gy, __global const float* k, __global float* gx,
                                   int rows, int cols) {
    int e = get_global_id(0);
    if (e >= rows * cols) return;
    int r = e / cols;
    gx[e] += gy[e] * w[e % cols] * rstd[r] - x[e] * k[r];
}

__kernel void rms_norm_backward_dw(__global const float* x, __global const float* rstd, __global const float* gy,
                                   __global float* gw, int rows, int cols) {
    int c = get_global_id(0);
    if (c >= cols) return;
    float a = gw[c];
    for (int r = 0; r < rows; r++) a += gy[r * cols + c] * (x[r * cols + c] * rstd[r]);
    gw[c] = a;
}

// ---- transformer pieces -------------------------------------------------------------------------

// one work-item per (row, head, j < D/2): the pair (j, j + D/2) of one head vector
__kernel void rope(__global const float* x, __global float* y, __global const int* position,
                   __global const float* invFreq, int rows, int heads, int headDim, int inverse) {
    int hd2 = headDim / 2, e = get_global_id(0);
    if (e >= rows * heads * hd2) return;
    int j = e % hd2, rh = e / hd2, r = rh / heads;
    float angle = (float) position[r] * invFreq[j];
#ifdef cl_khr_fp64
    float c = (float) cos((double) angle), s = (float) sin((double) angle);
#else
    float c = cos(angle), s = sin(angle);
#endif
    int o = rh * headDim;
    float a = x[o + j], b = x[o + hd2 + j];
    if (inverse) {
        y[o + j] += a * c + b * s;
        y[o + hd2 + j] += b * c - a * s;
    } else {
        y[o + j] = a * c - b * s;
        y[o + hd2 + j] = b * c + a * s;
    }
}

// Attention, one work-item per (b, h, t) query row: scores, mask, softmax into probs[B,Hq,T,S].
__kernel void attention_probs(__global const float* q, __global const float* k, __global const float* keyMask,
                              int hasMask, __global float* probs, int batch, int seq, int keySeq, int qHeads,
                              int kvHeads, int headDim, float scale, int causal) {
    int row = get_global_id(0);
    if (row >= batch * qHeads * seq) return;
    int t = row % seq, h = (row / seq) % qHeads, b = row / (seq * qHeads);
    int g = h / (qHeads / kvHeads), ldq = qHeads * headDim, ldk = kvHeads * headDim;
    int lim = causal ? max(0, min(keySeq, t + keySeq - seq + 1)) : keySeq;
    __global const float* qr = q + (b * seq + t) * ldq + h * headDim;
    __global float* p = probs + row * keySeq;
    float mx = -INFINITY;
    for (int s = 0; s < lim; s++) {
        float sc;
        if (hasMask && keyMask[b * keySeq + s] == 0.0f) {
            sc = -INFINITY;
        } else {
            __global const float* kr = k + (b * keySeq + s) * ldk + g * headDim;
            float d = 0;
            for (int i = 0; i < headDim; i++) d = fma(qr[i], kr[i], d);
            sc = d * scale;
        }
        p[s] = sc;
        mx = fmax(mx, sc);
    }
    if (mx == -INFINITY) {                      // nothing visible: zeros, not NaN
        for (int s = 0; s < keySeq; s++) p[s] = 0;
        return;
    }
    float sum = 0;
    for (int s = 0; s < lim; s++) { float e = exp(p[s] - mx); p[s] = e; sum += e; }
    float inv = 1.0f / sum;
    for (int s = 0; s < lim; s++) p[s] *= inv;
    for (int s = lim; s < keySeq; s++) p[s] = 0;
}

// out[b,t,h,d] = sum_s probs[b,h,t,s] v[b,s,g,d], one work-item per output element
__kernel void attention_out(__global const float* probs, __global const float* v, __global float* out,
                            int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim) {
    int e = get_global_id(0);
    if (e >= batch * seq * qHeads * headDim) return;
    int d = e % headDim, h = (e / headDim) % qHeads, t = (e / (headDim * qHeads)) % seq, b = e / (headDim * qHeads * seq);
    int g = h / (qHeads / kvHeads), ldk = kvHeads * headDim;
    __global const float* p = probs + ((b * qHeads + h) * seq + t) * keySeq;
    __global const float* vc = v + b * keySeq * ldk + g * headDim + d;
    float acc = 0;
    for (int s = 0; s < keySeq; s++) acc = fma(p[s], vc[s * ldk], acc);
    out[e] = acc;
}

// dS[b,h,t,s] = P * (dP - sum_s dP*P) * scale with dP[s] = dO[b,t,h] . v[b,s,g]; one work-item per row
__kernel void attention_ds(__global const float* v, __global const float* probs, __global const float* gout,
                           __global float* ds, int batch, int seq, int keySeq, int qHeads, int kvHeads,
                           int headDim, float scale) {
    int row = get_global_id(0);
    if (row >= batch * qHeads * seq) return;
    int t = row % seq, h = (row / seq) % qHeads, b = row / (seq * qHeads);
    int g = h / (qHeads / kvHeads), ldq = qHeads * headDim, ldk = kvHeads * headDim;
    __global const float* go = gout + (b * seq + t) * ldq + h * headDim;
    __global const float* p = probs + row * keySeq;
    __global float* dr = ds + row * keySeq;
    float dot = 0;
    for (int s = 0; s < keySeq; s++) {
        float dp = 0;
        if (p[s] != 0.0f) {
            __global const float* vr = v + (b * keySeq + s) * ldk + g * headDim;
            for (int i = 0; i < headDim; i++) dp = fma(go[i], vr[i], dp);
        }
        dr[s] = dp;
        dot = fma(dp, p[s], dot);
    }
    for (int s = 0; s < keySeq; s++) dr[s] = p[s] * (dr[s] - dot) * scale;
}

// gq[b,t,h,d] += sum_s dS[b,h,t,s] k[b,s,g,d]
__kernel void attention_dq(__global const float* k, __global const float* ds, __global float* gq,
                           int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim) {
    int e = get_global_id(0);
    if (e >= batch * seq * qHeads * headDim) return;
    int d = e % headDim, h = (e / headDim) % qHeads, t = (e / (headDim * qHeads)) % seq, b = e / (headDim * qHeads * seq);
    int g = h / (qHeads / kvHeads), ldk = kvHeads * headDim;
    __global const float* dr = ds + ((b * qHeads + h) * seq + t) * keySeq;
    __global const float* kc = k + b * keySeq * ldk + g * headDim + d;
    float acc = 0;
    for (int s = 0; s < keySeq; s++) acc = fma(dr[s], kc[s * ldk], acc);
    gq[e] += acc;
}

// gk[b,s,g,d] += sum_{h of g, t} dS q;  gv[b,s,g,d] += sum_{h of g, t} P dO  (one writer per element)
__kernel void attention_dkv(__global const float* q, __global const float* probs, __global const float* ds,
                            __global const float* gout, __global float* gk, int hasK, __global float* gv, int hasV,
                            int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim) {
    int e = get_global_id(0);
    if (e >= batch * keySeq * kvHeads * headDim) return;
    int d = e % headDim, g = (e / headDim) % kvHeads, s = (e / (headDim * kvHeads)) % keySeq, b = e / (headDim * kvHeads * keySeq);
    int group = qHeads / kvHeads, ldq = qHeads * headDim;
    float ak = 0, av = 0;
    for (int h = g * group; h < (g + 1) * group; h++) {
        for (int t = 0; t < seq; t++) {
            int pi = ((b * qHeads + h) * seq + t) * keySeq + s, qi = (b * seq + t) * ldq + h * headDim + d;
            if (hasK) ak = fma(ds[pi], q[qi], ak);
            if (hasV) av = fma(probs[pi], gout[qi], av);
        }
    }
    if (hasK) gk[e] += ak;
    if (hasV) gv[e] += av;
}

__kernel void gather_rows(__global const float* x, __global const int* index, __global float* y, int n, int cols) {
    int e = get_global_id(0);
    if (e >= n * cols) return;
    y[e] = x[index[e / cols] * cols + e % cols];
}

// one work-item per (distinct destination row u, column): sources in ascending order (CSR from the host)
__kernel void scatter_add_rows(__global const float* gy, __global const int* dst, __global const int* starts,
                               __global const int* order, __global float* gx, int rowsOut, int cols) {
    int e = get_global_id(0);
    if (e >= rowsOut * cols) return;
    int u = e / cols, c = e % cols;
    int gi = dst[u] * cols + c;
    float acc = gx[gi];
    for (int j = starts[u]; j < starts[u + 1]; j++) acc += gy[order[j] * cols + c];
    gx[gi] = acc;
}

// scatter_add_rows without the host's CSR (for recorded task graphs): one work-item per column
// walks the index in order, so every gx element gets the same additions in the same order
__kernel void scatter_add_rows_scan(__global const float* gy, __global const int* index, __global float* gx,
                                    int n, int cols, int skip) {
    int c = get_global_id(0);
    if (c >= cols) return;
    for (int i = 0; i < n; i++) if (index[i] != skip) gx[index[i] * cols + c] += gy[i * cols + c];
}

// meta = [rank, yShape[rank], xStride-of-y-axis[rank]]
__kernel void permute(__global const float* x, __global float* y, __global const int* meta, int total, int acc) {
    int e = get_global_id(0);
    if (e >= total) return;
    int rank = meta[0], rem = e, xi = 0;
    for (int d = rank - 1; d >= 0; d--) {
        int s = meta[1 + d], c = rem % s;
        rem /= s;
        xi += c * meta[1 + rank + d];
    }
    y[e] = acc ? y[e] + x[xi] : x[xi];
}

// ---- optimiser ------------------------------------------------------------------------------------

// The CPU backend's scalar AdamW step, operation by operation (fma where it uses Math.fma).
// sc[at..at+3) = 1 - lr wd, sqrt(bc2), -lr/bc1: the step's scalars, written by the host every step
// (Backend.writeEachStep), so a recorded step replays with the current ones
__kernel void adamw(__global float* p, __global const float* g, __global float* m, __global float* v, int n,
                    __global const float* sc, int at, float coeff, int smallWeight, float b2, float c2, float eps) {
    int i = get_global_id(0);
    if (i >= n) return;
    float decay = sc[at], bc2Sqrt = sc[at + 1], negStepSize = sc[at + 2];
    float gi = g[i];
    float mi = fma(gi - m[i], coeff, smallWeight ? m[i] : gi);
    float vi = fma(c2 * gi, gi, v[i] * b2);
    float denom = sqrt(vi) / bc2Sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay + negStepSize * mi / denom;
}
