package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Softmax and log-softmax over the last axis (each row of {@code [..., cols]} independently,
 * max-subtracted for stability). The backward works from the output alone:
 * softmax {@code dx = y * (dy - <dy, y>)}, log-softmax {@code dx = dy - softmax * sum(dy)}.
 */
public final class Softmax {
    private Softmax() {}

    public static Tensor softmax(Tensor x) {
        return apply(x, false);
    }

    public static Tensor logSoftmax(Tensor x) {
        return apply(x, true);
    }

    private static Tensor apply(Tensor x, boolean log) {
        if (x.rank() == 0) {
            throw new IllegalArgumentException((log ? "logSoftmax" : "softmax") + " needs at least one axis, got shape "
                    + Arrays.toString(x.shape()));
        }
        int cols = x.size(-1), rows = cols == 0 ? 0 : x.numel() / cols;
        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        be.softmax(x.storage(), out.storage(), rows, cols, log);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, log ? "logSoftmax" : "softmax",
                () -> be.softmaxBackward(out.storage(), out.gradBuffer(), x.gradBuffer(), rows, cols, log), x);
    }
}
