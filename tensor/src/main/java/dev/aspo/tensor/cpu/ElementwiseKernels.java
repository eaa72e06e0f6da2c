package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class ElementwiseKernels {
    private ElementwiseKernels() {}

    static void unary(UnaryOp op, float[] x, float[] y, int n) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void unaryBackward(UnaryOp op, float[] x, float[] y, float[] gy, float[] gx, int n) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void affine(float[] x, float[] y, int n, float alpha, float beta) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void binary(BinaryOp op, float[] a, int[] aStrides, float[] b, int[] bStrides, float[] out, int[] outShape) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void binaryBackward(BinaryOp op, int side, float[] a, int[] aStrides, float[] b, int[] bStrides,
                               float[] gout, int[] outShape, float[] g) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
