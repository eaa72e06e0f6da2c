package dev.aspo.tensor.cpu;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;

/** PLACEHOLDER: to be implemented (issue 2). */
final class AttentionKernel {
    private AttentionKernel() {}

    static void forward(float[] q, float[] k, float[] v, float[] out, float[] probs, float[] keyMask,
                        int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim, float scale, boolean causal) {
        throw new UnsupportedOperationException("not implemented yet");
    }
    static void backward(float[] q, float[] k, float[] v, float[] probs, float[] gout, float[] gq, float[] gk, float[] gv,
                         int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim, float scale) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
