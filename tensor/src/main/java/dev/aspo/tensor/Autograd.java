package dev.aspo.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Define-by-run reverse-mode autodiff. Ops call {@link #record} on their output when
 * {@link #isRecording} says an input needs a gradient; {@link Tensor#backward()} walks the recorded
 * graph in reverse topological order and then frees it (intermediate gradients and the graph's
 * references to saved buffers go, leaves keep their gradients).
 */
public final class Autograd {
    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {}

    /** A scope in which no op records a graph: {@code try (var g = Autograd.noGrad()) {...}}. */
    public static Scope noGrad() {
        DISABLED.get()[0]++;
        return () -> DISABLED.get()[0]--;
    }

    /** Closes a {@link #noGrad} scope. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    public static boolean enabled() {
        return DISABLED.get()[0] == 0;
    }

    /** True when an op on {@code inputs} must record itself: grad mode on and some input needs a gradient. */
    public static boolean isRecording(Tensor... inputs) {
        if (!enabled()) return false;
        for (Tensor t : inputs) if (t != null && needsGrad(t)) return true;
        return false;
    }

    /** Whether gradients flow into {@code t}: a leaf that asked for one, or the output of a recorded op. */
    public static boolean needsGrad(Tensor t) {
        return t.requiresGrad() || t.node != null;
    }

    /** Attaches {@code backward} to {@code out} as the op {@code op} over {@code inputs}; returns {@code out}. */
    public static Tensor record(Tensor out, String op, Node.Backward backward, Tensor... inputs) {
        out.node = new Node(op, inputs, backward);
        return out;
    }

    static void backward(Tensor root, Tensor seed) {
        if (!needsGrad(root)) {
            throw new IllegalStateException("backward(): the tensor does not depend on anything that requires a gradient");
        }
        if (seed == null) root.backend().fill(root.gradBuffer(), 0, 1, 1f);
        else root.backend().axpy(1f, seed.storage(), root.gradBuffer(), root.numel());

        List<Tensor> order = topologicalOrder(root);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            if (t.hasGrad()) t.node.backward.run();
        }
        for (Tensor t : order) {          // free the graph: intermediate gradients and saved buffers
            t.node = null;
            t.releaseGrad();
        }
    }

    /** Tensors with a node, each after all of its inputs (iterative DFS: graphs can be deep). */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Map<Tensor, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] inputs = t.node == null ? new Tensor[0] : t.node.inputs;
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.node != null && seen.put(in, Boolean.TRUE) == null) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                if (t.node != null) order.add(t);
            }
        }
        return Collections.unmodifiableList(order);
    }
}
