package dev.aspo.opencl;

import dev.aspo.tensor.BufferPool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jocl.CL;
import org.jocl.cl_mem;

/**
 * Records the device commands of one step and replays them (TornadoVM's idea: task graph, then an
 * immutable plan, then execute): the step runs normally through the op classes, and every kernel
 * launch, zero-fill, upload and per-step host write it enqueues is kept with its arguments.
 * {@link Plan#execute} enqueues exactly those commands again on the same buffers: no Java graph
 * building, shape checks, autograd bookkeeping or allocations.
 *
 * <pre>
 *   record(step, inputs, batch1, batch2)   (or start(...), run(batch1), run(batch2), plan():
 *     │                                     the same, with host work between the two runs)
 *     ├─ runs step(batch1) ──> [launch, zero, upload, launch, ...]   compared command by command
 *     └─ runs step(batch2) ──> [launch, zero, upload, launch, ...]   with the first: same kernels,
 *                                                                    sizes and scalars, and every
 *        upload either one of the declared inputs of its batch (then bound) or the same in both
 *   plan.execute(batch) ──> checks the batch's inputs as the ops checked them, then the second
 *                           recording's commands, bound uploads writing the batch's values
 * </pre>
 *
 * <p>A whole training step fits: {@code zeroGrad}, forward, loss, backward and AdamW (its learning
 * rate and bias corrections are host values written anew on every replay, see {@code
 * Backend.writeEachStep}). Run the step once before recording: what it does only the first time
 * (AdamW's moments, caches a model fills on its first call) would otherwise be recorded, or make
 * the two recordings differ. Both recordings are real steps. After a replay the tensors of the
 * second recording (the loss, the gradients) hold the replayed step's values.
 *
 * <p>What a plan cannot follow: anything the host decides from a batch other than through the
 * declared inputs. An index array or a scalar that the step derives from the batch (the positions of
 * padding tokens, the number of unmasked targets) is fixed at its recorded value. Recording on two
 * batches finds those that differ between the two (the recording fails and names the command);
 * one that happens to be equal in both is not found, so keep such quantities fixed across the
 * batches a plan replays, or better, let the ops take the inputs as they are (this engine's
 * models do: a LLaVA step replays on batches of any padding). An input that is the same in both
 * recording batches (an all-ones mask) is bound wherever its values reach the device. Host reads of device
 * values ({@link OpenClBackend#sumOfSquares}) are refused while recording. Record outside a
 * {@link BufferPool#step()} scope: a plan keeps its buffers, which a pool would hand to other tensors.
 */
public final class TaskGraph {
    private TaskGraph() {}

    /**
     * Records {@code step} with nothing that changes between replays: every upload keeps its
     * recorded values (new float inputs can still be written into their tensors' buffers with
     * {@link OpenClBackend#write}).
     */
    public static Plan<Void> record(OpenClBackend backend, Runnable step) {
        Objects.requireNonNull(step, "step");
        return new Plan<>(backend, run(backend, b -> step.run(), null), b -> new Object[0], new Object[0]);
    }

    /**
     * Records {@code step} on two batches (both run for real, {@code first} then {@code second}) and
     * returns the plan that replays it on further batches. {@code inputs} gives a batch's host
     * arrays that change between steps ({@code int[]} index arrays such as token ids and targets,
     * {@code float[]} values such as pixels), in a fixed order; the two batches must differ in every
     * one of them, and each must reach the device unchanged (the ops may copy it, not transform it).
     *
     * @throws IllegalStateException naming the command, when the step's work depends on the batch
     *                               beyond its inputs
     */
    public static <B> Plan<B> record(OpenClBackend backend, Consumer<B> step, Function<B, Object[]> inputs, B first,
                                     B second) {
        Recording<B> r = start(backend, step, inputs);
        r.run(first);
        r.run(second);
        return r.plan();
    }

    /**
     * {@link #record} in steps, for a caller with host work between the two recorded runs (a
     * trainer's gradient clipping and optimiser step): {@link Recording#run} twice, then
     * {@link Recording#plan}. Close the recording if it is abandoned before {@code plan}.
     */
    public static <B> Recording<B> start(OpenClBackend backend, Consumer<B> step, Function<B, Object[]> inputs) {
        return new Recording<>(backend, Objects.requireNonNull(step, "step"), Objects.requireNonNull(inputs, "inputs"));
    }

    /** A task graph being recorded: two runs of the step, then the plan. */
    public static final class Recording<B> implements AutoCloseable {
        private final OpenClBackend backend;
        private final Consumer<B> step;
        private final Function<B, Object[]> inputs;
        private final List<List<ClCommand>> runs = new ArrayList<>();
        private final List<Object[]> values = new ArrayList<>();
        private boolean done;

        private Recording(OpenClBackend backend, Consumer<B> step, Function<B, Object[]> inputs) {
            this.backend = backend;
            this.step = step;
            this.inputs = inputs;
        }

        /** Runs the step on {@code batch} (for real) and records it; at most twice. */
        public void run(B batch) {
            if (done || runs.size() == 2) throw new IllegalStateException("task graph: a recording takes two runs");
            Object[] in = inputsOf(inputs, batch, runs.isEmpty() ? "first" : "second");
            if (!values.isEmpty()) {
                Object[] before = values.get(0);
                if (before.length != in.length) {
                    throw new IllegalArgumentException("task graph: the batches give " + before.length + " and " + in.length
                            + " inputs");
                }
                for (int k = 0; k < in.length; k++) {
                    if (before[k].getClass() != in[k].getClass() || length(before[k]) != length(in[k])) {
                        throw new IllegalArgumentException("task graph: input " + k + " is " + shape(before[k])
                                + " in the first batch and " + shape(in[k]) + " in the second: a plan replays one shape");
                    }
                }
            }
            runs.add(TaskGraph.run(backend, step, batch));
            values.add(copies(in));   // the caller may reuse its arrays for the next batch
        }

        /** Compares the two runs and returns the plan that replays the second (see {@link TaskGraph#record}). */
        public Plan<B> plan() {
            if (done || runs.size() != 2) throw new IllegalStateException("task graph: plan() needs two runs, has " + runs.size());
            done = true;
            try {
                bind(runs.get(0), values.get(0), runs.get(1), values.get(1));
            } catch (RuntimeException e) {
                release(runs.get(0));
                release(runs.get(1));
                throw e;
            }
            release(runs.get(0));
            return new Plan<>(backend, runs.get(1), inputs, values.get(1));
        }

        @Override
        public void close() {
            if (done) return;
            done = true;
            for (List<ClCommand> r : runs) release(r);
        }
    }

    private static Object[] copies(Object[] in) {
        Object[] out = new Object[in.length];
        for (int k = 0; k < in.length; k++) out[k] = in[k] instanceof int[] a ? a.clone() : ((float[]) in[k]).clone();
        return out;
    }

    private static <B> List<ClCommand> run(OpenClBackend backend, Consumer<B> step, B batch) {
        if (BufferPool.inScope()) {
            throw new IllegalStateException("task graph: record outside a BufferPool.step() scope (a plan keeps its "
                    + "buffers, which the pool would hand to other tensors)");
        }
        List<ClCommand> commands = new ArrayList<>();
        backend.startRecording(commands);
        try {
            step.accept(batch);
        } catch (RuntimeException | Error e) {
            backend.stopRecording();
            release(commands);
            throw e;
        }
        backend.stopRecording();
        return Collections.unmodifiableList(commands);
    }

    /** Checks that the recordings did the same work and binds the second's uploads of inputs. */
    private static void bind(List<ClCommand> c1, Object[] in1, List<ClCommand> c2, Object[] in2) {
        if (c1.size() != c2.size()) {
            throw new IllegalStateException("task graph: the step enqueued " + c1.size() + " device commands on the first "
                    + "batch and " + c2.size() + " on the second: its work depends on the batch (its padding, its "
                    + "lengths?), which a plan cannot replay");
        }
        boolean[] used = new boolean[in1.length];
        for (int j = 0; j < c1.size(); j++) {
            ClCommand a = c1.get(j), b = c2.get(j);
            String diff = a.getClass() != b.getClass() ? a + " vs " + b : null;
            if (diff == null && a instanceof ClCommand.Launch) {
                diff = ((ClCommand.Launch) a).differenceFrom((ClCommand.Launch) b);
            } else if (diff == null && a instanceof ClCommand.Zero && ((ClCommand.Zero) a).bytes != ((ClCommand.Zero) b).bytes) {
                diff = a + " vs " + b;
            } else if (diff == null && a instanceof ClCommand.Upload) {
                ClCommand.Upload ua = (ClCommand.Upload) a, ub = (ClCommand.Upload) b;
                // the inputs holding these values in each run; one in both: bound to it (also
                // when that input is the same in both batches: it is declared)
                List<Integer> both = matches(ua.values, in1);
                both.retainAll(matches(ub.values, in2));
                if (both.size() > 1) {
                    throw new IllegalStateException("task graph: command " + j + " (" + ub + ") holds the values of inputs "
                            + both + " in both recording batches: record on batches where they differ");
                }
                if (both.size() == 1) {
                    int k = both.get(0);
                    if (ub.values instanceof int[] && ub.check == null) {   // float values need no check
                        throw new IllegalStateException("task graph: input " + k + " reaches command " + j + " (" + ub
                                + "), an array that cannot take new values on replay");
                    }
                    ub.input = k;
                    used[k] = true;
                } else if (!sameValues(ua.values, ub.values)) {
                    diff = "the " + ua.what + " array (" + shape(ua.values) + ") differs between the batches but is "
                            + "none of the declared inputs: it is derived from the batch (declare the array the op "
                            + "receives as the input, or keep it the same in every batch)";
                }
            }
            if (diff != null) {
                throw new IllegalStateException("task graph: command " + j + " (" + b + ") depends on the batch: " + diff);
            }
        }
        for (int k = 0; k < used.length; k++) {
            if (!used[k]) {
                throw new IllegalStateException("task graph: input " + k + " (" + shape(in2[k]) + ") reached no device "
                        + "command unchanged: the step transforms it on the host first (a shift, a mask?), so a replay "
                        + "could not pass new values on; declare the array the ops receive instead");
            }
        }
    }

    /** The inputs whose values equal {@code values}. */
    private static List<Integer> matches(Object values, Object[] inputs) {
        List<Integer> out = new ArrayList<>();
        for (int k = 0; k < inputs.length; k++) {
            if (inputs[k].getClass() == values.getClass() && sameValues(inputs[k], values)) out.add(k);
        }
        return out;
    }

    private static <B> Object[] inputsOf(Function<B, Object[]> inputs, B batch, String which) {
        Object[] v = Objects.requireNonNull(inputs, "inputs").apply(batch);
        if (v == null) throw new IllegalArgumentException("task graph: the " + which + " batch gives null inputs");
        for (int k = 0; k < v.length; k++) {
            if (!(v[k] instanceof int[]) && !(v[k] instanceof float[])) {
                throw new IllegalArgumentException("task graph: input " + k + " of the " + which + " batch is "
                        + (v[k] == null ? "null" : "a " + v[k].getClass().getSimpleName()) + "; inputs are int[] or float[]");
            }
        }
        return v;
    }

    private static void release(List<ClCommand> commands) {
        for (ClCommand c : commands) for (cl_mem m : c.buffers()) CL.clReleaseMemObject(m);
    }

    static boolean sameValues(Object a, Object b) {
        if (a instanceof int[] && b instanceof int[]) return Arrays.equals((int[]) a, (int[]) b);
        if (a instanceof float[] && b instanceof float[]) return Arrays.equals((float[]) a, (float[]) b);
        return false;
    }

    static int length(Object values) {
        return ClCommand.Upload.length(values);
    }

    static String shape(Object values) {
        return (values instanceof int[] ? "int[" : "float[") + length(values) + "]";
    }

    /** An immutable recorded step. Close it to free the buffers it keeps alive. */
    public static final class Plan<B> implements AutoCloseable {
        private final OpenClBackend backend;
        private final List<ClCommand> commands;
        private final Function<B, Object[]> inputs;
        /** The recorded inputs: their types and lengths, which a replayed batch must have. */
        private final Object[] shapes;
        /**
         * Device bytes the plan keeps alive, counted in the backend's live bytes while it is open:
         * the tensors whose buffers it holds stop being counted when they are collected, the plan's
         * hold goes on (while they live, the count is too high, which only makes the backend collect
         * sooner near its memory limit).
         */
        private final long bytes;
        /** The uploads bound to index-array inputs: their checks run on every replayed batch. */
        private final List<ClCommand.Upload> boundIndices = new ArrayList<>();
        private boolean closed;

        private Plan(OpenClBackend backend, List<ClCommand> commands, Function<B, Object[]> inputs, Object[] shapes) {
            this.backend = backend;
            this.commands = commands;
            this.inputs = inputs;
            this.shapes = shapes;
            this.bytes = heldBytes(commands);
            for (ClCommand c : commands) {
                if (c instanceof ClCommand.Upload u && u.input >= 0 && u.values instanceof int[]) boundIndices.add(u);
            }
            backend.liveBytes.addAndGet(bytes);
        }

        /** Device bytes of the plan's buffers, each counted once. */
        public long heldBytes() {
            return bytes;
        }

        private static long heldBytes(List<ClCommand> commands) {
            java.util.Set<cl_mem> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            long sum = 0;
            long[] size = new long[1];
            for (ClCommand c : commands) {
                for (cl_mem m : c.buffers()) {
                    if (!seen.add(m)) continue;
                    CL.clGetMemObjectInfo(m, CL.CL_MEM_SIZE, org.jocl.Sizeof.cl_long, org.jocl.Pointer.to(size), null);
                    sum += size[0];
                }
            }
            return sum;
        }

        /**
         * Checks {@code batch}'s inputs (shapes, and every index as the op that reads it checks it)
         * and enqueues the recorded commands with them, asynchronously apart from the writes of the
         * inputs and of per-step host values, which wait for the device (a download of a result
         * waits for the rest). Nothing is enqueued when a check fails.
         */
        public synchronized void execute(B batch) {
            if (closed) throw new IllegalStateException("this task-graph plan is closed");
            Object[] values = shapes.length == 0 ? shapes : inputsOf(inputs, batch, "replayed");
            if (values.length != shapes.length) {
                throw new IllegalArgumentException("task graph: the batch gives " + values.length + " inputs, the plan "
                        + "was recorded with " + shapes.length);
            }
            for (int k = 0; k < values.length; k++) {
                if (values[k].getClass() != shapes[k].getClass() || length(values[k]) != length(shapes[k])) {
                    throw new IllegalArgumentException("task graph: input " + k + " is " + shape(values[k])
                            + ", the plan was recorded with " + shape(shapes[k]));
                }
            }
            for (ClCommand.Upload u : boundIndices) {
                try {
                    u.check.accept((int[]) values[u.input]);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("task graph input " + u.input + ": " + e.getMessage(), e);
                }
            }
            backend.replay(commands, values);
        }

        /** Replays a plan recorded without inputs. */
        public void execute() {
            execute(null);
        }

        /** Number of recorded commands. */
        public int size() {
            return commands.size();
        }

        /** The commands in order (kernel names and sizes, uploads and the inputs bound to them), for inspection. */
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
            backend.liveBytes.addAndGet(-bytes);
        }
    }
}
