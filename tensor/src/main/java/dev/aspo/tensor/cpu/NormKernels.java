package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class NormKernels {
    private NormKernels() {}

    static void layerNorm(float[] x, float[] w, float[] b, float[] y, float[] mean, float[] rstd, int rows, int cols, float eps) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void layerNormBackward(float[] x, float[] w, float[] mean, float[] rstd, float[] gy,
                                  float[] gx, float[] gw, float[] gb, int rows, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void rmsNorm(float[] x, float[] w, float[] y, float[] rstd, int rows, int cols, float eps) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void rmsNormBackward(float[] x, float[] w, float[] rstd, float[] gy, float[] gx, float[] gw, int rows, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
