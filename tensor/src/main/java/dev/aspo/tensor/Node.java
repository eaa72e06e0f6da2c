package dev.aspo.tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One recorded op in the autograd graph: its name, its inputs, and the function that pushes the
 * output's gradient into the inputs' gradient buffers.
 */
public final class Node {
    /** Numbers nodes in the order they were made (on any thread): a recomputed layer's graph is what was made after it began. */
    private static final AtomicLong MADE = new AtomicLong();

    private final String op;
    /** This node's place in the order nodes were made ({@link #MADE}). */
    final long serial = MADE.getAndIncrement();
    final Tensor[] inputs;
    final Backward backward;
    /** Buffers only {@link #backward} reads (never wrapped in a tensor); dead once the node is freed. */
    final Storage[] saved;

    Node(String op, Tensor[] inputs, Backward backward, Storage[] saved) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
        this.saved = saved;
    }

    /** The serial the next node will get: every node made from now on has one at least this large. */
    static long nextSerial() {
        return MADE.get();
    }

    public String op() {
        return op;
    }

    /**
     * The gradient rule of one op. It reads the output's gradient buffer (captured with the output)
     * and accumulates into the gradient buffers of those inputs that {@link Tensor#requiresGrad()}
     * or have a node of their own.
     */
    @FunctionalInterface
    public interface Backward {
        void run();
    }
}
