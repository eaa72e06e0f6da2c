package dev.aspo.tensor;

/**
 * Rotary position embedding's inverse frequencies, HF's {@code inv_freq}. Every backend takes them
 * from here, so the CPU and OpenCL rotations use bit-identical tables.
 */
public final class RopeFrequencies {
    private RopeFrequencies() {}

    /** {@code 1 / theta^(2j / headDim)} for {@code j < headDim / 2}, float32 at every step as HF computes it. */
    public static float[] inverse(int headDim, float theta) {
        float[] inv = new float[headDim / 2];
        for (int j = 0; j < inv.length; j++) {
            float exponent = (float) (2 * j) / headDim;
            float power = (float) Math.pow(theta, exponent);
            inv[j] = 1f / power;
        }
        return inv;
    }
}
