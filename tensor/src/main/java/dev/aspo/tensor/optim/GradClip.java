package dev.aspo.tensor.optim;

import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.List;

/** Gradient-norm clipping over a whole set of parameters, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * The L2 norm of all gradients together, {@code sqrt(sum over params of |grad|^2)}; parameters
     * without a gradient count as zero. Summed in double.
     */
    public static double globalNorm(List<Tensor> params) {
        double sum = 0;
        for (Tensor p : params) {
            Storage g = p.gradStorage();
            if (g != null) sum += g.backend().sumOfSquares(g, g.size());
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales every gradient by {@code maxNorm / (total + 1e-6)} when that is below 1, and returns
     * {@code total}, the global norm before clipping (log it as {@code grad_norm}). A non-finite
     * total is returned with the gradients untouched: the caller should stop, not step.
     */
    public static double clipGlobalNorm(List<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("clipGlobalNorm: max norm must be a positive number, got " + maxNorm);
        }
        double total = globalNorm(params);
        // float32 arithmetic in torch's order (its norm is a float tensor and scalar / tensor is
        // reciprocal() * scalar), so the clipped gradients match torch's to the ulp
        float coefficient = (1f / ((float) total + 1e-6f)) * (float) maxNorm;
        if (Double.isFinite(total) && coefficient < 1) {
            for (Tensor p : params) {
                Storage g = p.gradStorage();
                if (g != null) g.backend().scale(g, g.size(), coefficient);
            }
        }
        return total;
    }
}
