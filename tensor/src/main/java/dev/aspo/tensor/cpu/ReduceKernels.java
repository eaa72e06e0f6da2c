package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class ReduceKernels {
    private ReduceKernels() {}

    static void sum(float[] x, float[] y, int outer, int dim, int inner) {
        for (int o = 0; o < outer; o++) {
            java.util.Arrays.fill(y, o * inner, (o + 1) * inner, 0f);
            for (int d = 0; d < dim; d++) {
                int xo = (o * dim + d) * inner, yo = o * inner;
                for (int i = 0; i < inner; i++) y[yo + i] += x[xo + i];
            }
        }
    }
    static void max(float[] x, float[] y, float[] idx, int outer, int dim, int inner) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void sumBackward(float[] gy, float[] gx, int outer, int dim, int inner) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void segmentSum(float[] x, int[] segment, float[] y, int n, int segments) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void segmentSumBackward(float[] gy, int[] segment, float[] gx, int n) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
