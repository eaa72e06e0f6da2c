package dev.aspo.tensor.optim;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Gradient-norm clipping over a whole set of parameters, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClip {
    private GradClip() {}

    /**
     * The L2 norm of all gradients together, {@code sqrt(sum over params of |grad|^2)}; parameters
     * without a gradient count as zero. Summed in double.
     */
    public static double globalNorm(List<Tensor> params) {
        // the gradients of each backend in one call (a device reads its partial sums back once),
        // added in parameter order
        Map<Backend, List<Storage>> byBackend = new LinkedHashMap<>();
        List<Storage> order = new ArrayList<>();
        for (Tensor p : params) {
            Storage g = p.gradStorage();
            if (g == null) continue;
            byBackend.computeIfAbsent(g.backend(), b -> new ArrayList<>()).add(g);
            order.add(g);
        }
        Map<Storage, Double> squares = new IdentityHashMap<>();
        for (Map.Entry<Backend, List<Storage>> e : byBackend.entrySet()) {
            Storage[] gs = e.getValue().toArray(new Storage[0]);
            double[] s = e.getKey().sumsOfSquares(gs);
            for (int i = 0; i < gs.length; i++) squares.put(gs[i], s[i]);
        }
        double sum = 0;
        for (Storage g : order) sum += squares.get(g);
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
