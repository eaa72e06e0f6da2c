package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class RopeKernel {
    private RopeKernel() {}

    static void rope(float[] x, float[] y, int[] position, int batch, int seq, int heads, int headDim, float theta, boolean inverse) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
