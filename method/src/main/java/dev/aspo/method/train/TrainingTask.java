package dev.aspo.method.train;

import java.util.List;
import java.util.Map;

/**
 * What a trainer gives {@link TrainingLoop}: the work of one micro-batch. Records are named by
 * their index in the training (or evaluation) records the trainer gave the loop; the loop decides
 * which ones make a micro-batch and a step.
 */
interface TrainingTask {
    /** A micro-batch's metrics (averaged by the loop, weighted by records: {@link MetricMeans}) and its text tokens. */
    record MicroResult(Map<String, Double> metrics, long tokens) {}

    /**
     * Forward of training records {@code idx}, then backward of the loss times {@code share} (the
     * micro-batch's part of the step's records), so that gradients add up over a step; stops with
     * {@link TrainingStopped} at a non-finite value. The metrics must include {@code loss}.
     */
    MicroResult forwardBackward(int[] idx, long step, float share);

    /**
     * The whole step's device work at once (zeroGrad, then {@link #forwardBackward} of every
     * micro-batch), as one recorded task graph; null where the task has none (the default), and
     * the loop runs the micro-batches one by one.
     */
    default List<MicroResult> forwardBackwardStep(List<int[]> micro, long step) {
        return null;
    }

    /** Loss and metrics of evaluation records {@code idx} (called without gradients). */
    Map<String, Double> evaluate(int[] idx, long step);

    /** What the task does after each optimiser step (CLIP clamps its temperature), and the metrics of the new weights to log. */
    default Map<String, Object> afterOptimizerStep() {
        return Map.of();
    }
}
