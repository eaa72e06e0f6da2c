package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.opencl.TaskGraph;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@code task_graph: true}: the device work of a training step (zeroGrad, then forward, loss and
 * backward of every micro-batch) as an OpenCL task graph. The trainer keeps the host side of the
 * step (checks, metrics, clipping, the optimiser) after it, as in an eager step.
 *
 * <pre>
 *   step 1            eager                      (AdamW's moments, the models' first-call work)
 *   steps 2 and 3     recorded (real steps)      --> the plan (TaskGraph.start / run / plan)
 *   later steps       plan.execute(batches)      (new ids, masks, targets, pixels as inputs)
 *   another shape     eager, then record again   (an epoch's last, shorter batch: the eager step
 *                                                 gives the parameters other gradient buffers)
 *   not replayable    one line on the console, every step eager from then on
 * </pre>
 *
 * The results ({@code P}: the tensors the trainer reads) of a replay are those the second
 * recorded run returned: the plan refills them.
 */
final class StepGraph<M, P> implements AutoCloseable {
    private final OpenClBackend backend;
    private final Function<List<M>, List<P>> work;
    private final Function<M, Batch> batchOf;
    private final Function<M, Object[]> inputs;
    private final Consumer<String> warn;
    private TaskGraph.Recording<List<M>> recording;
    private TaskGraph.Plan<List<M>> plan;
    /** The results of the last recorded run, and of the run the plan replays. */
    private List<P> last, planned;
    /** The recorded micro-batches' shape (rows x positions each). */
    private String shape;
    private int runs;
    private boolean warm, disabled, toldShape, replayed;

    /**
     * @param work    the step's device work on its micro-batches ({@code M}), returning each one's results
     * @param batchOf a micro-batch's padded batch (its shape decides whether the plan fits)
     * @param inputs  a micro-batch's host arrays as the ops receive them ({@link PolicyModel#deviceInputs}, targets, ...)
     * @param warn    takes the line said when the step cannot be recorded (the run goes on eagerly) or changes shape
     */
    StepGraph(OpenClBackend backend, Function<List<M>, List<P>> work, Function<M, Batch> batchOf, Function<M, Object[]> inputs,
              Consumer<String> warn) {
        this.backend = backend;
        this.work = work;
        this.batchOf = batchOf;
        this.inputs = inputs;
        this.warn = warn;
    }

    /** Runs the step's device work on {@code batches}: eagerly, recorded or replayed. */
    List<P> run(List<M> batches) {
        String s = shape(batches);
        replayed = false;
        if (disabled) return work.apply(batches);
        if (plan != null && s.equals(shape)) {
            plan.execute(batches);
            replayed = true;
            return planned;
        }
        if (plan != null) {                   // another shape: eager now, a new recording after it
            if (!toldShape) {
                warn.accept("task_graph: a step of another shape (" + s.strip() + " rows x positions per micro-batch, recorded "
                        + shape.strip() + ") ran eagerly and the step is recorded again; a number of records that is a "
                        + "multiple of batch_size keeps one shape");
                toldShape = true;
            }
            reset();
            return work.apply(batches);
        }
        if (!warm || shape != null && !s.equals(shape)) {
            warm = true;
            return work.apply(batches);
        }
        if (recording == null) {
            recording = TaskGraph.start(backend, b -> last = work.apply(b), this::inputsOf);
            shape = s;
        }
        recording.run(batches);
        if (++runs == 2) {
            try {
                plan = recording.plan();
                planned = last;
            } catch (IllegalStateException e) {
                // the step cannot be replayed (it derives arrays from the batch that no input gives): say so, go on eagerly
                warn.accept("task_graph: " + e.getMessage().replaceFirst("^task graph: ", "") + "; the steps run eagerly");
                disabled = true;
            } finally {
                recording = null;
            }
        }
        return last;
    }

    /** Whether the last {@link #run} replayed the plan. */
    boolean replayed() {
        return replayed;
    }

    private void reset() {
        plan.close();
        plan = null;
        shape = null;
        runs = 0;
    }

    private Object[] inputsOf(List<M> batches) {
        List<Object> all = new ArrayList<>();
        for (M b : batches) all.addAll(List.of(inputs.apply(b)));
        return all.toArray();
    }

    private String shape(List<M> batches) {
        StringBuilder sb = new StringBuilder();
        for (M m : batches) {
            Batch b = batchOf.apply(m);
            sb.append(b.batch).append('x').append(b.seq).append(' ');
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (recording != null) recording.close();
        if (plan != null) plan.close();
        recording = null;
        plan = null;
    }
}
