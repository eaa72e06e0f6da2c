package dev.aspo.tensor.cpu;

import dev.aspo.tensor.RopeFrequencies;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rotary position embedding, Llama's "rotate half" form (see {@link dev.aspo.tensor.Backend#rope}).
 *
 * <pre>
 *   x [B, T, H, D]: each head vector is two halves a = x[0 : D/2], b = x[D/2 : D]
 *   angle[j] = position[b*T + t] * invFreq[j],   invFreq[j] = 1 / theta^(2j / D)
 *   forward   y_a  = a cos - b sin      y_b  = b cos + a sin        (y = R x, overwrites y)
 *   inverse   y_a += a cos + b sin      y_b += b cos - a sin        (y += R^T x: the backward)
 * </pre>
 *
 * Angles are computed the way HF's {@code LlamaRotaryEmbedding} does, in float32: the exponent
 * {@code (2j)/D}, the power, the reciprocal and the product with the position are each rounded
 * to float, and only cos/sin of that float angle are taken in double. At positions in the
 * thousands this matters: an angle formed in double differs from HF's by ~1e-4 rad.
 */
final class RopeKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    private RopeKernel() {}

    static void rope(float[] x, float[] y, int[] position, int batch, int seq, int heads, int headDim,
                     float theta, boolean inverse) {
        int half = headDim / 2, rows = batch * seq;
        if (rows == 0 || half == 0) return;
        float[] invFreq = RopeFrequencies.inverse(headDim, theta);

        // cos/sin per distinct position: a table over [min, max] when the positions are dense
        // (the usual 0..T-1 per sequence), else one table row per (b, t).
        int min = Integer.MAX_VALUE, max = Integer.MIN_VALUE;
        for (int i = 0; i < rows; i++) {
            min = Math.min(min, position[i]);
            max = Math.max(max, position[i]);
        }
        boolean dense = (long) max - min < rows;
        int tableRows = dense ? max - min + 1 : rows;
        float[] cos = new float[tableRows * half], sin = new float[tableRows * half];
        for (int i = 0; i < tableRows; i++) {
            float pos = dense ? min + i : position[i];
            for (int j = 0; j < half; j++) {
                float angle = pos * invFreq[j];
                cos[i * half + j] = (float) Math.cos(angle);
                sin[i * half + j] = (float) Math.sin(angle);
            }
        }
        int base = min;
        int grain = Math.max(1, (1 << 14) / Math.max(1, heads * headDim));
        Parallel.forRange(rows, grain, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int tab = (dense ? position[r] - base : r) * half;
                for (int h = 0; h < heads; h++) {
                    int o = (r * heads + h) * headDim;
                    if (inverse) rotateBack(x, y, o, half, cos, sin, tab);
                    else rotate(x, y, o, half, cos, sin, tab);
                }
            }
        });
    }

    /** {@code y = R x} for one head at {@code o}; safe in place ({@code x == y}). */
    private static void rotate(float[] x, float[] y, int o, int half, float[] cos, float[] sin, int tab) {
        int j = 0;
        for (; j < F.loopBound(half); j += L) {
            FloatVector a = FloatVector.fromArray(F, x, o + j), b = FloatVector.fromArray(F, x, o + half + j);
            FloatVector c = FloatVector.fromArray(F, cos, tab + j), s = FloatVector.fromArray(F, sin, tab + j);
            a.mul(c).sub(b.mul(s)).intoArray(y, o + j);
            b.mul(c).add(a.mul(s)).intoArray(y, o + half + j);
        }
        for (; j < half; j++) {
            float a = x[o + j], b = x[o + half + j], c = cos[tab + j], s = sin[tab + j];
            y[o + j] = a * c - b * s;
            y[o + half + j] = b * c + a * s;
        }
    }

    /** {@code y += R^T x} for one head at {@code o} (the angle negated). */
    private static void rotateBack(float[] x, float[] y, int o, int half, float[] cos, float[] sin, int tab) {
        int j = 0;
        for (; j < F.loopBound(half); j += L) {
            FloatVector a = FloatVector.fromArray(F, x, o + j), b = FloatVector.fromArray(F, x, o + half + j);
            FloatVector c = FloatVector.fromArray(F, cos, tab + j), s = FloatVector.fromArray(F, sin, tab + j);
            FloatVector ya = a.mul(c).add(b.mul(s)), yb = b.mul(c).sub(a.mul(s));
            FloatVector.fromArray(F, y, o + j).add(ya).intoArray(y, o + j);
            FloatVector.fromArray(F, y, o + half + j).add(yb).intoArray(y, o + half + j);
        }
        for (; j < half; j++) {
            float a = x[o + j], b = x[o + half + j], c = cos[tab + j], s = sin[tab + j];
            y[o + j] += a * c + b * s;
            y[o + half + j] += b * c - a * s;
        }
    }
}
