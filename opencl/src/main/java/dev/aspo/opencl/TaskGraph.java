package dev.aspo.opencl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.jocl.CL;
import org.jocl.cl_mem;

/**
 * Records the device commands of one step (TornadoVM's idea: task graph, then an immutable plan,
 * then execute): the step runs once normally through the op classes, and every kernel launch,
 * zero-fill and constant upload it enqueues is kept with its arguments. {@link Plan#execute}
 * enqueues exactly those commands again on the same buffers: no Java graph building, shape checks,
 * autograd bookkeeping, allocations or index uploads.
 *
 * <pre>
 *   record(step) ──runs step──> [launch, zero, write, launch, ...]  (buffers retained)
 *   plan.execute()  ──> the same commands, same buffers, same order (results are bit-identical
 *                       to an eager step on the same inputs)
 * </pre>
 *
 * What a plan cannot see: anything the host decides from device values, and host data that
 * changes between steps. So: new inputs go into the recorded input buffers (e.g. with
 * {@link OpenClBackend#write}); index arrays (token ids, targets, segments) are frozen at their
 * recorded values; {@link OpenClBackend#sumOfSquares} refuses to run while recording; and
 * gradients must be unallocated (zeroGrad) when recording starts, so that the recorded step zeroes
 * them itself. The optimiser step (its bias corrections change every step) runs outside the plan.
 */
public final class TaskGraph {
    private TaskGraph() {}

    /** Runs {@code step} once on {@code backend}, recording its commands into a plan. */
    public static Plan record(OpenClBackend backend, Runnable step) {
        List<ClCommand> commands = new ArrayList<>();
        backend.startRecording(commands);
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            backend.stopRecording();
            release(commands);
            throw e;
        }
        backend.stopRecording();
        return new Plan(backend, Collections.unmodifiableList(commands));
    }

    private static void release(List<ClCommand> commands) {
        for (ClCommand c : commands) for (cl_mem m : c.buffers()) CL.clReleaseMemObject(m);
    }

    /** An immutable recorded step. Close it to free the buffers it keeps alive. */
    public static final class Plan implements AutoCloseable {
        private final OpenClBackend backend;
        private final List<ClCommand> commands;
        private boolean closed;

        private Plan(OpenClBackend backend, List<ClCommand> commands) {
            this.backend = backend;
            this.commands = commands;
        }

        /** Enqueues the recorded commands (asynchronously; a download of a result waits for them). */
        public synchronized void execute() {
            if (closed) throw new IllegalStateException("this task-graph plan is closed");
            backend.replay(commands);
        }

        /** Number of recorded commands. */
        public int size() {
            return commands.size();
        }

        /** The kernel names in order, for inspection. */
        public List<String> describe() {
            List<String> out = new ArrayList<>();
            for (ClCommand c : commands) out.add(c.toString());
            return out;
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            release(commands);
        }
    }
}
