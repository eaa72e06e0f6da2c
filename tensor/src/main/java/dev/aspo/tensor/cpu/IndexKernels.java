package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class IndexKernels {
    private IndexKernels() {}

    static void gatherRows(float[] x, int[] index, float[] y, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void scatterAddRows(float[] gy, int[] index, float[] gx, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void permute(float[] x, int[] shape, int[] perm, float[] y, boolean accumulate) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
