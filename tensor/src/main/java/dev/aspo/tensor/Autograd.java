package dev.aspo.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
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
    /**
     * Gradient buffers of the running backward pass (this thread) that are done with, by length.
     * Reusing one (after zeroing it, while it is still in cache) is cheaper than a fresh zeroed
     * array from the heap, and the pass holds fewer buffers at once.
     */
    private static final ThreadLocal<Map<Integer, ArrayDeque<Storage>>> FREE_GRADS = new ThreadLocal<>();

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
        for (Tensor t : inputs) {
            if (t != null && needsGrad(t)) return !Checkpoint.suppresses();   // a checkpointed layer's first forward keeps no graph
        }
        return false;
    }

    /** Whether gradients flow into {@code t}: a leaf that asked for one, or the output of a recorded op. */
    public static boolean needsGrad(Tensor t) {
        return t.requiresGrad() || t.node != null;
    }

    /** Attaches {@code backward} to {@code out} as the op {@code op} over {@code inputs}; returns {@code out}. */
    public static Tensor record(Tensor out, String op, Node.Backward backward, Tensor... inputs) {
        out.node = new Node(op, inputs, backward, null);
        return out;
    }

    /**
     * {@link #record} for an op whose backward reads buffers of its own ({@code saved}: statistics,
     * probabilities) that no tensor wraps and nothing else keeps: once backward has run and freed
     * the node they are dead, and inside a {@link BufferPool#step} scope they go back to the pool.
     */
    public static Tensor record(Tensor out, String op, Node.Backward backward, Storage[] saved, Tensor... inputs) {
        out.node = new Node(op, inputs, backward, saved);
        return out;
    }

    /**
     * A zeroed buffer an op saves for its backward, to pass to {@link #record(Tensor, String,
     * Node.Backward, Storage[], Tensor...)}: from the {@link BufferPool} inside a step scope.
     */
    public static Storage allocateSaved(Backend backend, int n) {
        return BufferPool.allocate(backend, n);
    }

    /**
     * {@link #allocateSaved} for a buffer the op's kernel writes in full before anything reads it:
     * inside a step scope it is not zero-filled first (see {@link Tensor#unfilled}).
     */
    public static Storage allocateSavedUnfilled(Backend backend, int n) {
        return BufferPool.allocate(backend, n, false);
    }

    static void backward(Tensor root, Tensor seed) {
        if (!needsGrad(root)) {
            throw new IllegalStateException("backward(): the tensor does not depend on anything that requires a gradient");
        }
        if (seed == null) root.backend().fill(root.gradBuffer(), 0, 1, 1f);
        else root.backend().axpy(1f, seed.storage(), root.gradBuffer(), root.numel());
        run(root, Long.MIN_VALUE, null);
    }

    /**
     * The backward pass of a layer {@link Checkpoint} recomputed: {@code seed} (the gradient that
     * reached the layer's output in the enclosing pass) into {@code root}, then the graph the
     * recomputation made, which must not reach any node made before it (serial {@code first}): the
     * layer's inputs are leaves that share their gradient buffers with the enclosing graph's
     * tensors. Nothing outside the layer can read its graph's tensors, so inside a
     * {@link BufferPool#step} scope their buffers go back to the pool at once, for the next
     * layer's recomputation.
     */
    static void backwardRecomputed(Tensor root, Storage seed, long first, String layer) {
        root.backend().axpy(1f, seed, root.gradBuffer(), root.numel());
        run(root, first, layer);
    }

    /** The pass from {@code root}; {@code layer} names a recomputed layer (null for an ordinary pass). */
    private static void run(Tensor root, long first, String layer) {
        List<Tensor> order = topologicalOrder(root, first, layer);
        Map<Integer, ArrayDeque<Storage>> free = new HashMap<>();
        Map<Integer, ArrayDeque<Storage>> enclosing = FREE_GRADS.get();   // a recomputed layer's pass runs inside another
        FREE_GRADS.set(free);
        try {
            // Reverse topological order: every consumer of t (views of t included) has run before t,
            // so once t's backward has run nothing reads or writes t's gradient again. A non-leaf's
            // own gradient buffer can then serve a later tensor of the same size.
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                if (t.hasGrad()) t.node.backward.run();
                Storage g = t.takeOwnGrad();
                if (g != null) free.computeIfAbsent(t.numel(), n -> new ArrayDeque<>()).push(g);
            }
        } finally {
            if (enclosing == null) FREE_GRADS.remove();
            else FREE_GRADS.set(enclosing);
        }
        List<Storage> saved = new ArrayList<>();
        for (Tensor t : order) {          // free the graph: intermediate gradients and saved buffers
            if (t.node.saved != null) Collections.addAll(saved, t.node.saved);
            t.node = null;
            t.releaseGrad();
        }
        if (layer == null) BufferPool.backwardDone(order, free.values(), saved);
        else BufferPool.recomputedBackwardDone(order, free.values(), saved);
    }

    /**
     * A buffer of {@code n} floats for a gradient, zeroed unless {@code zeroed} is false (the caller
     * overwrites it: {@link Tensor#gradBufferToOverwrite}): one freed earlier in the running backward
     * pass when there is one of that length on {@code backend}, else one from {@link BufferPool}.
     */
    static Storage allocateGrad(Backend backend, int n, boolean zeroed) {
        Map<Integer, ArrayDeque<Storage>> free = FREE_GRADS.get();
        ArrayDeque<Storage> q = free == null ? null : free.get(n);
        Storage s = q == null ? null : q.poll();
        if (s == null || s.backend() != backend) return BufferPool.allocate(backend, n, zeroed);
        if (zeroed) backend.fill(s, 0, n, 0f);
        else BufferPool.handedOutUnfilled(s);
        return s;
    }

    /**
     * Tensors with a node, each after all of its inputs (iterative DFS: graphs can be deep). A node
     * made before {@code first} is an error naming {@code layer} (see {@link #backwardRecomputed}).
     */
    private static List<Tensor> topologicalOrder(Tensor root, long first, String layer) {
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
                    if (in.node.serial < first) {
                        throw new IllegalStateException("checkpoint " + layer + ": the layer used a tensor " + Arrays.toString(in.shape())
                                + " that an op outside it computed (" + in.node.op() + ") without taking it as an input;"
                                + " pass it among the checkpoint's inputs");
                    }
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                if (t.node != null) order.add(t);
            }
        }
        return Collections.unmodifiableList(order);
    }

    /**
     * What the graph behind {@code root} holds for its backward: {@code nodes} recorded ops, and
     * {@code floats} the size of the distinct buffers it keeps alive beyond the parameters (the
     * outputs of its ops, the inputs that want no gradient, the buffers ops saved). For tests and
     * diagnostics: activation checkpointing shows here as a smaller graph.
     */
    public record GraphSize(int nodes, long floats) {}

    public static GraphSize graphSize(Tensor root) {
        if (root.node == null) return new GraphSize(0, 0);
        List<Tensor> order = topologicalOrder(root, Long.MIN_VALUE, null);
        Map<Storage, Boolean> kept = new IdentityHashMap<>();
        for (Tensor t : order) {
            kept.put(t.storage(), Boolean.TRUE);
            if (t.node.saved != null) for (Storage s : t.node.saved) kept.put(s, Boolean.TRUE);
            for (Tensor in : t.node.inputs) {
                if (in != null && in.node == null && !in.requiresGrad()) kept.put(in.storage(), Boolean.TRUE);
            }
        }
        long floats = 0;
        for (Storage s : kept.keySet()) floats += s.size();
        return new GraphSize(order.size(), floats);
    }

    /** Turns grad mode on for a recomputation whatever scope it runs in; returns what {@link #restoreGradMode} takes. */
    static int forceGradMode() {
        int[] d = DISABLED.get();
        int was = d[0];
        d[0] = 0;
        return was;
    }

    static void restoreGradMode(int was) {
        DISABLED.get()[0] = was;
    }
}
