package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class SoftmaxKernels {
    private SoftmaxKernels() {}

    static void softmax(float[] x, float[] y, int rows, int cols, boolean log) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void softmaxBackward(float[] y, float[] gy, float[] gx, int rows, int cols, boolean log) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void crossEntropy(float[] logits, int[] target, float[] loss, float[] lse, int rows, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void crossEntropyBackward(float[] logits, int[] target, float[] lse, float[] gloss, float[] gx, int rows, int cols) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
