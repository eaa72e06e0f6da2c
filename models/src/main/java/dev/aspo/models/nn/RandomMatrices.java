package dev.aspo.models.nn;

import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.Parallel;

/**
 * Random 16-bit weight matrices for a model made in a {@link Module#matricesIn(Precision,
 * Module.MatrixValues)} scope: every element about {@code N(0, std^2)} (transformers' init of
 * Llama's linear and embedding weights with {@code std = initializer_range}), written once, straight
 * into 16 bits, so that a model whose float32 weights would not fit the heap can be made.
 *
 * <p>Fast rather than exact: matrix {@code k} (in the order the model makes them) element {@code i}
 * is a function of {@code (seed, k, i)} alone: SplitMix64 of that counter, its four 16-bit parts
 * summed (Irwin-Hall: mean 0 and variance {@code std^2} after scaling, tails cut at {@code 3.46
 * std}), so a matrix fills in parallel at a few nanoseconds an element and the values do not depend
 * on the number of threads. {@code java.util.Random.nextGaussian} would take minutes for the seven
 * billion weights of a 7B model.
 */
public final class RandomMatrices implements Module.MatrixValues {
    private final long seed;
    private final float std;
    private long made;

    private RandomMatrices(long seed, float std) {
        this.seed = seed;
        this.std = std;
    }

    /** Matrices of about {@code N(0, std^2)}, deterministic in {@code seed} and the order they are made in. */
    public static RandomMatrices normal(long seed, double std) {
        if (!(std >= 0) || Double.isInfinite(std)) throw new IllegalArgumentException("RandomMatrices: std must be >= 0, got " + std);
        return new RandomMatrices(seed, (float) std);
    }

    @Override
    public short[] make(Precision p, int[] shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        short[] bits = new short[n];
        long stream = mix(seed * 0x9E3779B97F4A7C15L + made++);
        Parallel.forRange(n, 1 << 16, (from, to) -> {
            for (int i = from; i < to; i++) bits[i] = HalfFloats.narrow(p, std * unitNormal(stream, i));
        });
        return bits;
    }

    /** Element {@code i} of stream {@code stream}: mean 0, variance 1, in {@code [-2 sqrt 3, 2 sqrt 3]}. */
    static float unitNormal(long stream, long i) {
        long z = mix(stream + (i + 1) * 0x9E3779B97F4A7C15L);
        long sum = (z & 0xFFFF) + (z >>> 16 & 0xFFFF) + (z >>> 32 & 0xFFFF) + (z >>> 48);
        // each part is uniform on 0..65535 (mean 32767.5, variance (65536^2 - 1) / 12 ~ 65536^2 / 12)
        return (float) ((sum - 131070.0) * (Math.sqrt(3.0) / 65536.0));
    }

    /** SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection that spreads every input bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
