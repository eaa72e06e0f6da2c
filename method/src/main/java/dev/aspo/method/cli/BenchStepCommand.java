package dev.aspo.method.cli;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.Parallel;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo bench step}: the wall time of one training step on a fixed batch.
 *
 * <pre>
 *   step = zeroGrad -> loss (forward + mean cross-entropy, as aspo grad) -> backward -> AdamW.step
 *          (forward and backward in a BufferPool.step() scope: the previous step's graph buffers are reused)
 *   2 warm-up steps (JIT, first allocation of the AdamW moments), then N timed steps
 * </pre>
 *
 * AdamW is torch's default ({@code torch.optim.AdamW(model.parameters(), lr=1e-4)}: betas 0.9/0.999,
 * eps 1e-8, weight decay 0.01 on every parameter), so the step is the one
 * {@code bench/pytorch/step_bench.py} times. The last line printed is one JSON object:
 *
 * <pre>
 *   seconds_per_step        median wall time of a step
 *   tokens_per_s            batch * seq / seconds_per_step
 *   forward_s, backward_s,  medians of the three parts (forward includes the loss)
 *   optimizer_s
 *   peak_heap_mb            the largest heap occupancy seen during the timed steps: the sum over the
 *                           heap's memory pools of their peak usage, with the peaks reset after the
 *                           warm-up. It counts garbage not yet collected, so it is what the heap had
 *                           to hold (the -Xmx a step needs is below it); the pools' peaks need not
 *                           coincide, so it is an upper bound of the true peak
 *   step_seconds            every timed step's wall time, in order
 *   live_heap_mb            heap in use after a full GC once the steps are done: the state that stays
 *                           between steps (weights, AdamW moments, the batch)
 *   allocated_mb_per_step   heap bytes allocated per timed step by all threads (activations, gradients,
 *                           temporaries: what the garbage collector has to reclaim each step)
 * </pre>
 */
@Command(name = "step", mixinStandardHelpOptions = true,
        description = "Time training steps (forward, mean cross-entropy, backward, AdamW lr 1e-4) of a model on one batch; "
                + "the last line is JSON with seconds_per_step (median), tokens_per_s and peak_heap_mb.")
final class BenchStepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a Hugging Face model directory (config.json + model.safetensors)")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "IN", description = "safetensors with input_ids [B,T], labels [B,T] (I64, -100 ignored), optional attention_mask [B,T] and pixel_values [N,3,H,W] (as aspo grad)")
    Path input;

    @Option(names = "--steps", defaultValue = "10", paramLabel = "N", description = "timed steps after the 2 warm-up steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "W", description = "warm-up steps, not timed (default: ${DEFAULT-VALUE})")
    int warmup;

    @Mixin
    DeviceOption device;

    /** The bench group: {@code aspo bench step ...}. */
    @Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchStepCommand.class, BenchAspoLoraCommand.class},
            description = "Benchmarks: aspo bench step times a training step; aspo bench aspo-lora an ASPO LoRA step of a"
                    + " LLaVA-1.5-7B-shaped model.")
    static final class Group extends CommandGroup {
    }

    @Override
    public Integer call() throws IOException {
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be at least 0, got " + warmup);
        device.select();
        ModelInputs in = ModelInputs.read(input);
        Module m = AutoModel.load(model);
        AdamW opt = new AdamW(m.namedParameters(), AdamW.Options.of(1e-4), name -> false);
        PrintWriter out = spec.commandLine().getOut();

        for (int i = 0; i < warmup; i++) step(m, in, opt);
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
        long allocated0 = allocatedBytes();
        double[] total = new double[steps], fwd = new double[steps], bwd = new double[steps], upd = new double[steps];
        float firstLoss = 0, lastLoss = 0;
        for (int i = 0; i < steps; i++) {
            double[] t = step(m, in, opt);
            fwd[i] = t[0];
            bwd[i] = t[1];
            upd[i] = t[2];
            total[i] = t[0] + t[1] + t[2];
            if (i == 0) firstLoss = (float) t[3];
            lastLoss = (float) t[3];
        }
        long allocated = allocatedBytes() - allocated0;
        long peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) peak += p.getPeakUsage().getUsed();
        }
        System.gc();
        long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();

        double sec = median(total);
        long tokens = (long) in.batch * in.seq;
        out.println(String.format(Locale.ROOT,
                "{\"impl\": \"aspo\", \"threads\": %d, \"steps\": %d, \"seconds_per_step\": %.6f, \"min_seconds\": %.6f, "
                        + "\"tokens_per_s\": %.1f, \"forward_s\": %.6f, \"backward_s\": %.6f, \"optimizer_s\": %.6f, "
                        + "\"peak_heap_mb\": %.1f, \"live_heap_mb\": %.1f, \"allocated_mb_per_step\": %.1f, "
                        + "\"first_loss\": %.6f, \"last_loss\": %.6f, \"step_seconds\": %s}",
                Parallel.THREADS, steps, sec, Arrays.stream(total).min().orElse(0), tokens / sec, median(fwd), median(bwd),
                median(upd), peak / 1048576.0, live / 1048576.0, allocated / 1048576.0 / steps, firstLoss, lastLoss, seconds(total)));
        return 0;
    }

    /** One step; returns {forward s, backward s, optimizer s, loss}. */
    static double[] step(Module m, ModelInputs in, AdamW opt) {
        long t0 = System.nanoTime(), t1, t2;
        float value;
        opt.zeroGrad();
        try (var buffers = BufferPool.step()) {   // this step's graph buffers serve the next step
            Tensor loss = GradCommand.loss(m, in);
            value = loss.item();
            t1 = System.nanoTime();
            loss.backward();
            t2 = System.nanoTime();
        }
        opt.step();
        long t3 = System.nanoTime();
        return new double[] {(t1 - t0) * 1e-9, (t2 - t1) * 1e-9, (t3 - t2) * 1e-9, value};
    }

    /** Bytes allocated on the heap so far by all live threads (the main thread and the kernel pool's workers). */
    private static long allocatedBytes() {
        if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t)) return 0;
        long sum = 0;
        for (long a : t.getThreadAllocatedBytes(t.getAllThreadIds())) if (a > 0) sum += a;
        return sum;
    }

    /** {@code [0.123456, ...]}: every timed step, in order (JIT and GC pauses show up here). */
    private static String seconds(double[] x) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < x.length; i++) b.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", x[i]));
        return b.append(']').toString();
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
