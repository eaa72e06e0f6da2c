package dev.aspo.method.train;

import dev.aspo.method.data.Record;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import dev.aspo.tensor.optim.LrSchedule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The training loop every trainer runs (SFT, DPO, ASPO: {@link Trainer}; CLIP: {@link ClipTrainer});
 * the trainer supplies the work of a micro-batch ({@link TrainingTask}).
 *
 * <pre>
 *   step s:  grad_accum micro-batches of batch_size records, in the epoch's order ({@link EpochCursor})
 *            zeroGrad; per micro-batch: forward, backward of loss * (its records / the step's records)
 *            clip the global gradient norm (max_grad_norm) --&gt; lr = schedule(s) --&gt; AdamW step
 *            metrics line (every log_every steps and the last), evaluation every eval_every steps and
 *            at the end, checkpoint every save_every steps and at the end
 * </pre>
 *
 * The schedule is linear warm-up then cosine ({@code lr}, {@code warmup_steps}, {@code min_lr_ratio})
 * over {@code max_steps}, or {@code epochs} epochs where {@code max_steps} is 0. A run continued with
 * {@code --resume} starts from the latest checkpoint ({@link Checkpoints}) and gives what the
 * uninterrupted run would have.
 */
final class TrainingLoop {
    /** Thrown after step {@link #stopAfterStep} (tests: a run killed there). */
    static final class Killed extends RuntimeException {
        Killed(long step) {
            super("stopped after step " + step);
        }
    }

    /** Where the run ended: its last step and the checkpoint written last (null: none). */
    record Outcome(long steps, Path lastCheckpoint) {}

    private final TrainConfig cfg;
    private final Path out;
    private final PrintStream console;
    private final StepListener listener;
    private final MetricsLog metrics;

    /** Tests: stop right after this step (its metrics and any checkpoint written), as a kill would. */
    long stopAfterStep = -1;

    /** @param out the run's folder, opened ({@link RunDirectory#open}) */
    TrainingLoop(TrainConfig cfg, Path out, PrintStream console, StepListener listener) {
        this.cfg = cfg;
        this.out = out;
        this.console = console;
        this.listener = listener;
        this.metrics = new MetricsLog(out);
    }

    /**
     * Trains with {@code task} on records {@code train}, evaluating on {@code eval} (empty: no
     * evaluation), from scratch ({@code resume} null) or from the latest checkpoint under {@code resume}.
     */
    Outcome run(Path resume, TrainingTask task, List<Record> train, List<Record> eval, AdamW opt, Checkpoints checkpoints)
            throws IOException {
        int bs = cfg.integer("batch_size"), accum = cfg.integer("grad_accum");
        long total = totalSteps(train.size(), bs, accum);
        LrSchedule schedule = LrSchedule.cosineWithWarmup(cfg.number("lr"), Math.min(cfg.integer("warmup_steps"), total), total,
                cfg.number("min_lr_ratio"));
        EpochCursor cursor = new EpochCursor(train.size(), cfg.integer("seed"));
        Path last = resume == null ? null : Checkpoints.requireLatest(resume);
        long step = last == null ? startOver() : continueFrom(last, checkpoints, cursor, opt);

        Progress progress = new Progress(console, Progress.style(cfg.str("progress")), cfg.integer("log_every"), step, total);
        while (step < total) {
            long t0 = System.nanoTime();
            List<int[]> micro = new ArrayList<>();
            for (int a = 0; a < accum; a++) micro.add(cursor.next(bs));
            List<TrainingTask.MicroResult> results = forwardBackward(task, micro, step + 1, opt);
            double norm = clipGradients(train, micro, step + 1, opt);
            double lr = schedule.lr(step);
            opt.setLr(lr);
            opt.step();
            Map<String, Object> adjusted = task.afterOptimizerStep();
            step++;

            MetricMeans means = new MetricMeans();
            long tokens = 0;
            for (int i = 0; i < micro.size(); i++) {
                means.add(results.get(i).metrics(), micro.get(i).length);
                tokens += results.get(i).tokens();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", step);
            line.put("epoch", cursor.epochs());
            line.putAll(means.result());
            line.putAll(adjusted);
            line.put("grad_norm", norm);
            line.put("lr", lr);
            line.put("tokens_per_s", tokens / secs);
            if (step % cfg.integer("log_every") == 0 || step == total) metrics.append(line);
            progress.step(step, (Double) line.get("loss"), tokens / secs);
            listener.step(step, total);

            boolean end = step == total;
            if (!eval.isEmpty() && (every("eval_every", step) || end)) evaluate(task, eval.size(), step, progress);
            if (every("save_every", step) || end) last = checkpoints.save(step, cursor, opt);
            if (step == stopAfterStep) throw new Killed(step);
        }
        BufferPool.clear();                     // the last step's buffers: no further step takes them
        return new Outcome(step, last);
    }

    /** {@code max_steps}, or where it is 0 the steps of {@code epochs} epochs of {@code n} records. */
    private long totalSteps(int n, int bs, int accum) {
        long microPerEpoch = (n + bs - 1) / bs;
        return cfg.integer("max_steps") > 0 ? cfg.integer("max_steps") : cfg.integer("epochs") * ((microPerEpoch + accum - 1) / accum);
    }

    /** A new run: no metrics yet; the settings saved. Returns step 0. */
    private long startOver() throws IOException {
        metrics.startOver();
        saveConfig();
        return 0;
    }

    /** A resumed run: the checkpoint's weights, moments and data position; the metrics after it dropped. Returns its step. */
    private long continueFrom(Path checkpoint, Checkpoints checkpoints, EpochCursor cursor, AdamW opt) throws IOException {
        long step = checkpoints.restore(checkpoint, cursor, opt);
        metrics.keepUpTo(step);
        console.println("resumed from " + checkpoint + " at step " + step);
        saveConfig();
        return step;
    }

    private void saveConfig() throws IOException {
        cfg.with("overwrite_output_dir", "false").save(out.resolve(RunDirectory.CONFIG));   // resuming never deletes
    }

    /** Zeroes the gradients and runs every micro-batch's forward and backward: the gradients of the step add up. */
    private static List<TrainingTask.MicroResult> forwardBackward(TrainingTask task, List<int[]> micro, long step, AdamW opt) {
        List<TrainingTask.MicroResult> recorded = task.forwardBackwardStep(micro, step);
        if (recorded != null) return recorded;
        opt.zeroGrad();
        int records = 0;
        for (int[] idx : micro) records += idx.length;
        List<TrainingTask.MicroResult> results = new ArrayList<>();
        for (int[] idx : micro) {
            try (var buffers = BufferPool.step()) {   // the micro-batch's graph serves the next one
                results.add(task.forwardBackward(idx, step, (float) idx.length / records));
            }
        }
        return results;
    }

    /** Clips the gradients to {@code max_grad_norm} (0: not clipped); returns their norm before, which must be finite. */
    private double clipGradients(List<Record> train, List<int[]> micro, long step, AdamW opt) {
        double maxNorm = cfg.number("max_grad_norm");
        List<Tensor> params = opt.params();
        double norm = maxNorm > 0 ? GradClip.clipGlobalNorm(params, maxNorm) : GradClip.globalNorm(params);
        if (!Double.isFinite(norm)) {
            List<String> where = new ArrayList<>();
            for (int[] idx : micro) for (int i : idx) where.add(train.get(i).where());
            throw new TrainingStopped(step, "step " + step + ": the gradient norm is " + norm + "; records of this step: "
                    + String.join(", ", where));
        }
        return norm;
    }

    /**
     * The evaluation records in order, batch_size at a time: their {@code eval_*} line, and on the
     * console eval_loss (and eval_accuracy where the task has one: CLIP).
     */
    private void evaluate(TrainingTask task, int n, long step, Progress progress) throws IOException {
        MetricMeans means = new MetricMeans();
        int bs = cfg.integer("batch_size");
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < n; from += bs) {
                int[] idx = new int[Math.min(bs, n - from)];
                for (int j = 0; j < idx.length; j++) idx[j] = from + j;
                means.add(task.evaluate(idx, step), idx.length);
            }
        }
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("step", step);
        means.result().forEach((k, v) -> ev.put("eval_" + k, v));
        metrics.append(ev);
        String line = String.format(Locale.ROOT, "step %d: eval_loss %.4f", step, (Double) ev.get("eval_loss"));
        if (ev.containsKey("eval_accuracy")) line += String.format(Locale.ROOT, " eval_accuracy %.3f", (Double) ev.get("eval_accuracy"));
        progress.message(line);
    }

    /** Whether the setting {@code key} (a number of steps; 0: never) falls on {@code step}. */
    private boolean every(String key, long step) {
        return cfg.integer(key) > 0 && step % cfg.integer(key) == 0;
    }
}
