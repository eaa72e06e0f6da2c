package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;

/**
 * Root-mean-square normalisation over the last axis, as HF's {@code LlamaRMSNorm} in float32:
 *
 * <pre>
 *   x [..., C] --rstd = 1/sqrt(mean(x^2) + eps) per row (saved)--> weight [C] * (x * rstd) --> y [..., C]
 * </pre>
 */
public final class RmsNorm {
    private RmsNorm() {}

    public static Tensor apply(Tensor x, Tensor weight, float eps) {
        if (x.rank() < 1) throw new IllegalArgumentException("rmsNorm: x must have at least one axis, got a scalar shape");
        int cols = x.size(-1);
        LayerNorm.checkParam("weight", weight, x, cols);
        int rows = x.numel() / Math.max(1, cols);

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        Storage rstd = Autograd.allocateSavedUnfilled(be, rows);
        be.rmsNorm(x.storage(), weight.storage(), out.storage(), rstd, rows, cols, eps);
        if (!Autograd.isRecording(x, weight)) return out;

        return Autograd.record(out, "rmsNorm", () -> be.rmsNormBackward(x.storage(), weight.storage(), rstd,
                out.gradBuffer(),
                Autograd.needsGrad(x) ? x.gradBuffer() : null,
                Autograd.needsGrad(weight) ? weight.gradBuffer() : null,
                rows, cols), new Storage[] {rstd}, x, weight);
    }
}
