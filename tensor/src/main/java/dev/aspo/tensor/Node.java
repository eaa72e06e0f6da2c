package dev.aspo.tensor;

/**
 * One recorded op in the autograd graph: its name, its inputs, and the function that pushes the
 * output's gradient into the inputs' gradient buffers.
 */
public final class Node {
    private final String op;
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
