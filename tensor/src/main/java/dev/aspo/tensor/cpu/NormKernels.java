package dev.aspo.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LayerNorm and RMSNorm over the rows of {@code x [rows, cols]} (see
 * {@link dev.aspo.tensor.Backend#layerNorm} and {@link dev.aspo.tensor.Backend#rmsNorm}).
 *
 * <p>Numerics follow PyTorch/HF in float32: LayerNorm uses the biased variance
 * {@code mean((x - mean)^2)} (two passes, so no cancellation), RMSNorm is Llama's
 * {@code w * (x * rsqrt(mean(x^2) + eps))}.
 *
 * <p>Threads: forward and {@code gx} run over rows; the weight/bias gradients are sums over rows,
 * so they run over column blocks instead (each thread owns its columns for every row): no races,
 * and the summation order does not depend on the thread count.
 */
final class NormKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Rough number of floats a thread should touch to be worth a fork. */
    private static final int WORK_GRAIN = 1 << 14;

    private NormKernels() {}

    // ---- LayerNorm ----------------------------------------------------------------------------

    static void layerNorm(float[] x, float[] w, float[] b, float[] y, float[] mean, float[] rstd,
                          int rows, int cols, float eps) {
        Parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                float mu = sum(x, o, cols) / cols;
                float var = sumSquaredDiff(x, o, cols, mu) / cols;
                float rs = (float) (1.0 / Math.sqrt(var + eps));
                mean[r] = mu;
                rstd[r] = rs;
                FloatVector vmu = FloatVector.broadcast(F, mu), vrs = FloatVector.broadcast(F, rs);
                int c = 0;
                for (; c < F.loopBound(cols); c += L) {
                    FloatVector n = FloatVector.fromArray(F, x, o + c).sub(vmu).mul(vrs).mul(FloatVector.fromArray(F, w, c));
                    if (b != null) n = n.add(FloatVector.fromArray(F, b, c));
                    n.intoArray(y, o + c);
                }
                for (; c < cols; c++) y[o + c] = (x[o + c] - mu) * rs * w[c] + (b != null ? b[c] : 0f);
            }
        });
    }

    /**
     * With {@code xh = (x - mean) * rstd} and {@code g = gy * w}:
     * {@code gx += rstd * (g - mean(g) - xh * mean(g * xh))}, {@code gw += sum_rows gy * xh},
     * {@code gb += sum_rows gy}.
     */
    static void layerNormBackward(float[] x, float[] w, float[] mean, float[] rstd, float[] gy,
                                  float[] gx, float[] gw, float[] gb, int rows, int cols) {
        if (gx != null) {
            Parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int o = r * cols;
                    float mu = mean[r], rs = rstd[r];
                    FloatVector vmu = FloatVector.broadcast(F, mu), vrs = FloatVector.broadcast(F, rs);
                    FloatVector sg = FloatVector.zero(F), sgx = FloatVector.zero(F);
                    int c = 0;
                    for (; c < F.loopBound(cols); c += L) {
                        FloatVector g = FloatVector.fromArray(F, gy, o + c).mul(FloatVector.fromArray(F, w, c));
                        FloatVector xh = FloatVector.fromArray(F, x, o + c).sub(vmu).mul(vrs);
                        sg = sg.add(g);
                        sgx = g.fma(xh, sgx);
                    }
                    float sumG = VectorMath.sumLanes(sg), sumGx = VectorMath.sumLanes(sgx);
                    for (; c < cols; c++) {
                        float g = gy[o + c] * w[c];
                        sumG += g;
                        sumGx += g * (x[o + c] - mu) * rs;
                    }
                    float mg = sumG / cols, mgx = sumGx / cols;
                    FloatVector vmg = FloatVector.broadcast(F, mg), vmgx = FloatVector.broadcast(F, mgx);
                    c = 0;
                    for (; c < F.loopBound(cols); c += L) {
                        FloatVector g = FloatVector.fromArray(F, gy, o + c).mul(FloatVector.fromArray(F, w, c));
                        FloatVector xh = FloatVector.fromArray(F, x, o + c).sub(vmu).mul(vrs);
                        FloatVector d = g.sub(vmg).sub(xh.mul(vmgx)).mul(vrs);
                        FloatVector.fromArray(F, gx, o + c).add(d).intoArray(gx, o + c);
                    }
                    for (; c < cols; c++) {
                        float xh = (x[o + c] - mu) * rs;
                        gx[o + c] += (gy[o + c] * w[c] - mg - xh * mgx) * rs;
                    }
                }
            });
        }
        if (gw != null || gb != null) {
            forColumnBlocks(rows, cols, (c0, c1) -> {
                for (int r = 0; r < rows; r++) {
                    int o = r * cols;
                    float mu = mean[r], rs = rstd[r];
                    FloatVector vmu = FloatVector.broadcast(F, mu), vrs = FloatVector.broadcast(F, rs);
                    int c = c0;
                    for (; c + L <= c1; c += L) {
                        FloatVector g = FloatVector.fromArray(F, gy, o + c);
                        if (gw != null) {
                            FloatVector xh = FloatVector.fromArray(F, x, o + c).sub(vmu).mul(vrs);
                            g.fma(xh, FloatVector.fromArray(F, gw, c)).intoArray(gw, c);
                        }
                        if (gb != null) FloatVector.fromArray(F, gb, c).add(g).intoArray(gb, c);
                    }
                    for (; c < c1; c++) {
                        if (gw != null) gw[c] += gy[o + c] * ((x[o + c] - mu) * rs);
                        if (gb != null) gb[c] += gy[o + c];
                    }
                }
            });
        }
    }

    // ---- RMSNorm ------------------------------------------------------------------------------

    static void rmsNorm(float[] x, float[] w, float[] y, float[] rstd, int rows, int cols, float eps) {
        Parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int o = r * cols;
                float ms = sumSquaredDiff(x, o, cols, 0f) / cols;
                float rs = (float) (1.0 / Math.sqrt(ms + eps));
                rstd[r] = rs;
                FloatVector vrs = FloatVector.broadcast(F, rs);
                int c = 0;
                for (; c < F.loopBound(cols); c += L) {   // HF order: w * (x * rstd)
                    FloatVector.fromArray(F, x, o + c).mul(vrs).mul(FloatVector.fromArray(F, w, c)).intoArray(y, o + c);
                }
                for (; c < cols; c++) y[o + c] = w[c] * (x[o + c] * rs);
            }
        });
    }

    /**
     * {@code y = x * r * w} with {@code r = (mean(x^2) + eps)^-1/2}, so {@code dr/dx = -r^3 x / cols}:
     * {@code gx += r * g - x * r^3 * mean(g * x)} with {@code g = gy * w}; {@code gw += sum_rows gy * x * r}.
     */
    static void rmsNormBackward(float[] x, float[] w, float[] rstd, float[] gy, float[] gx, float[] gw,
                                int rows, int cols) {
        if (gx != null) {
            Parallel.forRange(rows, rowGrain(cols), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int o = r * cols;
                    float rs = rstd[r];
                    FloatVector acc = FloatVector.zero(F);
                    int c = 0;
                    for (; c < F.loopBound(cols); c += L) {
                        FloatVector g = FloatVector.fromArray(F, gy, o + c).mul(FloatVector.fromArray(F, w, c));
                        acc = g.fma(FloatVector.fromArray(F, x, o + c), acc);
                    }
                    float sgx = VectorMath.sumLanes(acc);
                    for (; c < cols; c++) sgx += gy[o + c] * w[c] * x[o + c];
                    float k = rs * rs * rs * sgx / cols;
                    FloatVector vrs = FloatVector.broadcast(F, rs), vk = FloatVector.broadcast(F, k);
                    c = 0;
                    for (; c < F.loopBound(cols); c += L) {
                        FloatVector g = FloatVector.fromArray(F, gy, o + c).mul(FloatVector.fromArray(F, w, c));
                        FloatVector d = g.mul(vrs).sub(FloatVector.fromArray(F, x, o + c).mul(vk));
                        FloatVector.fromArray(F, gx, o + c).add(d).intoArray(gx, o + c);
                    }
                    for (; c < cols; c++) gx[o + c] += gy[o + c] * w[c] * rs - x[o + c] * k;
                }
            });
        }
        if (gw != null) {
            forColumnBlocks(rows, cols, (c0, c1) -> {
                for (int r = 0; r < rows; r++) {
                    int o = r * cols;
                    float rs = rstd[r];
                    FloatVector vrs = FloatVector.broadcast(F, rs);
                    int c = c0;
                    for (; c + L <= c1; c += L) {
                        FloatVector xr = FloatVector.fromArray(F, x, o + c).mul(vrs);
                        FloatVector.fromArray(F, gy, o + c).fma(xr, FloatVector.fromArray(F, gw, c)).intoArray(gw, c);
                    }
                    for (; c < c1; c++) gw[c] += gy[o + c] * (x[o + c] * rs);
                }
            });
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static int rowGrain(int cols) {
        return Math.max(1, WORK_GRAIN / Math.max(1, cols));
    }

    /** Runs {@code body} over column ranges {@code [c0, c1)} that start on a vector boundary. */
    private static void forColumnBlocks(int rows, int cols, Parallel.Range body) {
        int blocks = (cols + L - 1) / L;
        int grain = Math.max(1, WORK_GRAIN / Math.max(1, rows * L));
        Parallel.forRange(blocks, grain, (b0, b1) -> body.run(b0 * L, Math.min(cols, b1 * L)));
    }

    private static float sum(float[] x, int o, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i < F.loopBound(n); i += L) acc = acc.add(FloatVector.fromArray(F, x, o + i));
        float s = VectorMath.sumLanes(acc);
        for (; i < n; i++) s += x[o + i];
        return s;
    }

    /** {@code sum (x[i] - m)^2} over {@code x[o..o+n)}. */
    private static float sumSquaredDiff(float[] x, int o, int n, float m) {
        FloatVector vm = FloatVector.broadcast(F, m), acc = FloatVector.zero(F);
        int i = 0;
        for (; i < F.loopBound(n); i += L) {
            FloatVector d = FloatVector.fromArray(F, x, o + i).sub(vm);
            acc = d.fma(d, acc);
        }
        float s = VectorMath.sumLanes(acc);
        for (; i < n; i++) {
            float d = x[o + i] - m;
            s += d * d;
        }
        return s;
    }
}
