package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class AdamWKernel {
    private AdamWKernel() {}

    static void step(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2,
                     float eps, float weightDecay, int step) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
