package dev.aspo.tensor;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Activation checkpointing, as torch's {@code torch.utils.checkpoint} (non-reentrant): a layer's
 * forward runs without keeping its graph, and its backward runs the forward again, with a graph,
 * to take the gradient that reached its output back into its inputs and its parameters. A model
 * then keeps one tensor per layer (its input) instead of every intermediate, for the price of a
 * second forward of each layer.
 *
 * <pre>
 *   forward   h_in --[layer, no graph]--&gt; h_out         one node "checkpoint" over the inputs
 *   backward  d h_out --&gt; node: aliases of the inputs --[layer, recorded]--&gt; h_out'
 *                          backward of h_out' seeded with d h_out
 *                          --&gt; d inputs (into the inputs' own gradient buffers), d parameters
 * </pre>
 *
 * <p>The gradients are those of the plain graph to the last bit: the recomputation runs the same
 * kernels on the same values (a layer's forward does not depend on whether it is recorded), and its
 * backward visits the layer's ops in the order the plain backward does, accumulating into the same
 * buffers. That holds when the layer's inputs reach the rest of the model only through the layer
 * (a chain of layers, as in a transformer); an input also used elsewhere receives the same sum in
 * another order of additions.
 *
 * <p>What a layer must be for this: a function of its tensor inputs, its parameters (leaves;
 * their gradients accumulate as usual) and host values it captures (masks, positions), which must
 * not change until the backward; its tensors must be inputs or made inside it (using a tensor
 * another op computed without passing it as an input is an error at the backward, naming the
 * layer); its randomness must come from {@link ReplayableRandom}s, which are put back where they
 * stood at the first forward for the recomputation and then where they were (as torch saves and
 * restores the RNG state), so a dropout mask is drawn again the same.
 *
 * <p>Without grad mode ({@link Autograd#noGrad}), or inside another checkpointed layer's first
 * forward, the layer simply runs. When nothing it touches wants a gradient, its output is a plain
 * tensor and there is nothing to recompute.
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** A layer's forward over its tensor inputs, in the order {@link #apply} was given them. */
    @FunctionalInterface
    public interface Layer {
        Tensor forward(Tensor[] inputs);
    }

    /** The first forward of a checkpointed layer on this thread: no op records while it is open. */
    private static final class Forward {
        /** Whether an op would have recorded itself: something the layer touched wants a gradient. */
        boolean wouldRecord;
        /** Each random source the layer drew from, as it stood before the layer's first draw. */
        final Map<ReplayableRandom, ReplayableRandom.State> randoms = new IdentityHashMap<>();
    }

    private static final ThreadLocal<Forward> FORWARD = new ThreadLocal<>();
    /** First forwards open on any thread: lets a {@link ReplayableRandom} skip the lookup when there is none. */
    private static final AtomicInteger OPEN = new AtomicInteger();

    /**
     * {@code layer} over {@code inputs}, checkpointed; {@code name} (e.g. {@code model.layers.3})
     * names it in errors.
     */
    public static Tensor apply(String name, Layer layer, Tensor... inputs) {
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == null) throw new IllegalArgumentException("checkpoint " + name + ": input " + i + " is null");
        }
        if (!Autograd.enabled() || FORWARD.get() != null) return layer.forward(inputs.clone());
        Forward f = new Forward();
        BufferPool.LayerForward buffers = BufferPool.layerForward();
        Tensor out = null;
        FORWARD.set(f);
        OPEN.incrementAndGet();
        try {
            out = layer.forward(inputs.clone());
        } finally {
            OPEN.decrementAndGet();
            FORWARD.remove();
            if (buffers != null) buffers.end(out);
        }
        if (!f.wouldRecord) return out;
        boolean fresh = !out.isView() && out.node == null;
        for (Tensor in : inputs) fresh &= out != in;
        if (!fresh) {
            throw new IllegalStateException("checkpoint " + name + ": the layer returned one of its inputs, a view or a tensor"
                    + " computed outside it; a checkpointed layer must compute a new tensor");
        }
        Tensor[] saved = inputs.clone();
        Tensor result = out;
        return Autograd.record(out, "checkpoint", () -> recompute(name, layer, saved, f.randoms, result), saved);
    }

    /** The node's backward: the layer again, recorded, on aliases of its inputs; its backward seeded with {@code out}'s gradient. */
    private static void recompute(String name, Layer layer, Tensor[] inputs, Map<ReplayableRandom, ReplayableRandom.State> randoms,
                                  Tensor out) {
        Tensor[] aliases = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) aliases[i] = inputs[i].gradientAlias(Autograd.needsGrad(inputs[i]));
        Map<ReplayableRandom, ReplayableRandom.State> now = new IdentityHashMap<>();
        for (var e : randoms.entrySet()) {
            now.put(e.getKey(), e.getKey().state());
            e.getKey().restore(e.getValue());
        }
        int gradMode = Autograd.forceGradMode();
        long first = Node.nextSerial();
        Tensor again;
        try {
            again = layer.forward(aliases);
        } finally {
            Autograd.restoreGradMode(gradMode);
            for (var e : now.entrySet()) e.getKey().restore(e.getValue());
        }
        if (!Arrays.equals(again.shape(), out.shape())) {
            throw new IllegalStateException("checkpoint " + name + ": the recomputed output has shape " + Arrays.toString(again.shape())
                    + ", the first forward gave " + Arrays.toString(out.shape()) + "; the layer must be a function of its inputs");
        }
        if (again.node == null) {
            throw new IllegalStateException("checkpoint " + name + ": the recomputation recorded no graph although the first forward"
                    + " touched tensors that want gradients; the layer must be a function of its inputs");
        }
        Autograd.backwardRecomputed(again, out.gradBuffer(), first, name);
    }

    /** Whether a checkpointed layer's first forward is running on this thread (dropout checks where its masks come from). */
    public static boolean inFirstForward() {
        return FORWARD.get() != null;
    }

    /**
     * Called by {@link Autograd#isRecording} when an op would record itself: false outside a first
     * forward; inside one, notes that the layer needs a node and returns true (the op records nothing).
     */
    static boolean suppresses() {
        Forward f = FORWARD.get();
        if (f == null) return false;
        f.wouldRecord = true;
        return true;
    }

    /** {@code random} is about to draw: inside a first forward its state is noted before the layer's first draw from it. */
    static void drawing(ReplayableRandom random) {
        if (OPEN.get() == 0) return;
        Forward f = FORWARD.get();
        if (f != null && !f.randoms.containsKey(random)) f.randoms.put(random, random.state());
    }
}
