package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Layer normalisation over the last axis, as {@code torch.nn.LayerNorm} (biased variance):
 *
 * <pre>
 *   x [..., C] --mean, rstd per row (saved)--> (x - mean) * rstd * weight [C] + bias [C] --> y [..., C]
 * </pre>
 */
public final class LayerNorm {
    private LayerNorm() {}

    /** {@code bias} may be null (no shift). */
    public static Tensor apply(Tensor x, Tensor weight, Tensor bias, float eps) {
        if (x.rank() < 1) throw new IllegalArgumentException("layerNorm: x must have at least one axis, got a scalar shape");
        int cols = x.size(-1);
        checkParam("weight", weight, x, cols);
        if (bias != null) checkParam("bias", bias, x, cols);
        int rows = x.numel() / Math.max(1, cols);

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, x.shape());
        Storage mean = Autograd.allocateSavedUnfilled(be, rows), rstd = Autograd.allocateSavedUnfilled(be, rows);
        be.layerNorm(x.storage(), weight.storage(), bias == null ? null : bias.storage(), out.storage(), mean, rstd,
                rows, cols, eps);
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        if (!Autograd.isRecording(inputs)) return out;

        return Autograd.record(out, "layerNorm", () -> be.layerNormBackward(x.storage(), weight.storage(), mean, rstd,
                out.gradBuffer(),
                Autograd.needsGrad(x) ? x.gradBuffer() : null,
                Autograd.needsGrad(weight) ? weight.gradBuffer() : null,
                bias != null && Autograd.needsGrad(bias) ? bias.gradBuffer() : null,
                rows, cols), new Storage[] {mean, rstd}, inputs);
    }

    /** A per-feature parameter must be {@code [C]} for x's last axis {@code C}. */
    static void checkParam(String name, Tensor p, Tensor x, int cols) {
        if (p.rank() != 1 || p.size(0) != cols) {
            throw new IllegalArgumentException("norm: " + name + " has shape " + Arrays.toString(p.shape()) + " but x "
                    + Arrays.toString(x.shape()) + " needs [" + cols + "] (its last axis)");
        }
    }
}
