package dev.aspo.method.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.Parallel;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo bench aspo-lora}: one ASPO step with LoRA adapters on a LLaVA of random weights held
 * in bfloat16 ({@link AspoLoraBench}), with where its time and memory go. The proof that a
 * LLaVA-1.5-7B-shaped model trains on a 24 GB machine:
 *
 * <pre>
 *   ASPO_JAVA_OPTS=-Xmx20g ./aspo bench aspo-lora --shape llava-1.5-7b
 *   ./aspo bench aspo-lora --shape llava-1.5-7b --layers 4 --vision-layers 4    # the real widths, fewer layers
 * </pre>
 *
 * Progress goes to stderr; the last line on stdout is one JSON object:
 *
 * <pre>
 *   build_s, adapters_s                 making the model (random matrices in dtype) and its adapters
 *   reference_s                         the base model's log-probs of every sequence (no graph)
 *   forward_s, backward_s, optimizer_s  the step's parts: logits + log-probs + ASPO loss; backward
 *                                       (with checkpointing: every decoder layer again, then its
 *                                       backward); gradient clipping + AdamW
 *   step_s                              forward + backward + optimizer
 *   *_cpu_s                             the process's CPU seconds in that part (all threads; on a
 *                                       shared machine the wall time also depends on the other jobs)
 *   loss, grad_norm, max_abs_logit      finite, or the command fails
 *   later_steps                         with --steps N &gt; 1: the step figures of steps 2 .. N
 *   weights_bytes                       the model's parameters as held (matrices in dtype)
 *   adapter_params, adapter_bytes       the adapters (float32); adapter_grad_bytes the same again,
 *   adam_moment_bytes                   AdamW's two moments of them
 *   live_heap_mb_after_*                heap after a full GC after build, adapters, reference and
 *                                       step (the step's with the buffer pool's graph buffers held
 *                                       for a next step; live_heap_mb_end without them)
 *   peak_heap_mb                        the largest heap occupancy sampled over the run (garbage not
 *                                       yet collected included); *_peak_heap_mb the same per phase;
 *                                       peak_heap_pools_mb the sum of the heap pools' peaks (an
 *                                       upper bound, no spike missed)
 *   peak_live_heap_mb                   the largest occupancy right after a collection (the phases'
 *                                       full GCs excluded): what the heap had to hold at the fullest
 *                                       moment a collection saw; *_peak_live_mb the same per phase
 *   peak_rss_mb, rss_mb_after_*         the process's resident set: VmHWM at the end (at least every VmRSS read), VmRSS after each phase
 * </pre>
 */
@Command(name = "aspo-lora", mixinStandardHelpOptions = true,
        description = "One ASPO step with LoRA on a LLaVA of random bfloat16 weights (llava-1.5-7b or tiny), with gradient"
                + " checkpointing and cached reference log-probs; the last line is JSON with the time and memory of each part.")
final class BenchAspoLoraCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--shape", required = true, paramLabel = "S", description = "llava-1.5-7b or tiny")
    String shape;

    @Option(names = "--layers", paramLabel = "N", description = "decoder layers (default: the shape's; 32 for llava-1.5-7b)")
    Integer layers;

    @Option(names = "--vision-layers", paramLabel = "N", description = "vision tower layers (default: the shape's; 24 for llava-1.5-7b)")
    Integer visionLayers;

    @Option(names = "--pairs", defaultValue = "2", paramLabel = "N", description = "preference pairs in the step (default: ${DEFAULT-VALUE})")
    int pairs;

    @Option(names = "--micro-batch", defaultValue = "1", paramLabel = "N",
            description = "pairs per forward and backward; the step accumulates the gradients of pairs / N of them (default: ${DEFAULT-VALUE})")
    int microBatch;

    @Option(names = "--steps", defaultValue = "1", paramLabel = "N",
            description = "optimiser steps (default: ${DEFAULT-VALUE}); the JSON's step figures are the first's, later_steps the others'")
    int steps;

    @Option(names = "--rank", defaultValue = "128", paramLabel = "R", description = "LoRA rank (default: ${DEFAULT-VALUE}, LLaVA-1.5's)")
    int rank;

    @Option(names = "--lora-alpha", defaultValue = "256", paramLabel = "A", description = "LoRA alpha (default: ${DEFAULT-VALUE}, LLaVA-1.5's)")
    double loraAlpha;

    @Option(names = "--lora-dropout", defaultValue = "0", paramLabel = "P",
            description = "LoRA dropout (default: ${DEFAULT-VALUE}, PEFT's and the trainers'; LLaVA-1.5's recipe has 0.05)")
    double loraDropout;

    @Option(names = "--dtype", defaultValue = "bfloat16", paramLabel = "T", description = "the frozen matrices' format: bfloat16 (default) or float16")
    String dtype;

    @Option(names = "--gradient-checkpointing", defaultValue = "true", arity = "1", paramLabel = "B",
            description = "activation checkpointing of every decoder and vision layer (default: ${DEFAULT-VALUE})")
    boolean checkpointing;

    @Option(names = "--lr", defaultValue = "2e-5", paramLabel = "LR", description = "AdamW's learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "weights, adapters and data (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws JsonProcessingException {
        AspoLoraBench.Settings s = new AspoLoraBench.Settings(BenchShape.of(shape), layers, visionLayers, pairs, rank, loraAlpha,
                loraDropout, Precision.parse(dtype, "--dtype"), checkpointing, lr, seed);
        if (microBatch < 1 || microBatch > pairs) {
            throw new IllegalArgumentException("--micro-batch must be in [1, --pairs = " + pairs + "], got " + microBatch);
        }
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        AspoLoraBench bench = new AspoLoraBench(s);
        long need = bench.stateBytes(), max = Runtime.getRuntime().maxMemory();
        if (need > max) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "the %s shape needs more than %.1f GiB of heap (weights in %s, and the"
                            + " adapters, their gradients and AdamW moments in float32), activations not counted, but the JVM has %.1f GiB:"
                            + " give it more with ASPO_JAVA_OPTS=-Xmx<size>, or use fewer --layers", s.shape().key, gib(need),
                    s.dtype().torchName(), gib(max)));
        }
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("shape", s.shape().key);
        j.put("decoder_layers", bench.config.textConfig.numHiddenLayers);
        j.put("vision_layers", bench.config.visionConfig.numHiddenLayers());
        j.put("pairs", pairs);
        j.put("micro_batch", microBatch);
        j.put("steps", steps);
        int[] lengths = bench.lengths();
        j.put("sequence_tokens", lengths);
        j.put("image_tokens", bench.config.featuresPerImage());
        j.put("rank", rank);
        j.put("lora_alpha", loraAlpha);
        j.put("lora_dropout", loraDropout);
        j.put("dtype", s.dtype().torchName());
        j.put("gradient_checkpointing", checkpointing);
        j.put("threads", Parallel.THREADS);
        j.put("max_heap_mb", mb(max));
        err.println("aspo-lora: " + bench.config);

        try (MemoryProbe probe = new MemoryProbe()) {
            MemoryProbe.resetPoolPeaks();
            long t = System.nanoTime();
            double cpu = ProcessCpu.seconds();
            bench.build();
            j.put("build_s", seconds(t));
            j.put("build_cpu_s", round(ProcessCpu.seconds() - cpu));
            MemoryProbe.Peak buildPeak = probe.resetPeak();
            peaks(j, "build", buildPeak);
            j.put("weights_bytes", bench.model.parameterBytes());
            phaseEnd(j, "build", err);

            t = System.nanoTime();
            bench.attachAdapters();
            j.put("adapters_s", seconds(t));
            long adapterParams = 0;
            for (Tensor a : bench.lora.trainableParameters().values()) adapterParams += a.numel();
            j.put("adapter_params", adapterParams);
            j.put("adapter_bytes", 4 * adapterParams);
            j.put("adapter_grad_bytes", 4 * adapterParams);
            j.put("adam_moment_bytes", 8 * adapterParams);
            MemoryProbe.Peak adaptersPeak = probe.resetPeak();
            phaseEnd(j, "adapters", err);

            t = System.nanoTime();
            cpu = ProcessCpu.seconds();
            bench.referencePass();
            j.put("reference_s", seconds(t));
            j.put("reference_cpu_s", round(ProcessCpu.seconds() - cpu));
            MemoryProbe.Peak referencePeak = probe.resetPeak();
            peaks(j, "reference", referencePeak);
            phaseEnd(j, "reference", err);

            MemoryProbe.Peak peak = buildPeak.max(adaptersPeak).max(referencePeak);
            List<Map<String, Object>> later = new ArrayList<>();
            for (int step = 1; step <= steps; step++) {
                AspoLoraBench.StepResult r = bench.step(step, microBatch, probe);
                Map<String, Object> m = step == 1 ? j : new LinkedHashMap<>();
                m.put("forward_s", round(r.forwardSeconds()));
                m.put("backward_s", round(r.backwardSeconds()));
                m.put("optimizer_s", round(r.optimizerSeconds()));
                m.put("step_s", round(r.forwardSeconds() + r.backwardSeconds() + r.optimizerSeconds()));
                m.put("forward_cpu_s", round(r.forwardCpu()));
                m.put("backward_cpu_s", round(r.backwardCpu()));
                m.put("optimizer_cpu_s", round(r.optimizerCpu()));
                peaks(m, "forward", r.forwardPeak());
                peaks(m, "backward", r.backwardPeak());
                peaks(m, "optimizer", r.optimizerPeak());
                m.put("loss", r.loss());
                m.put("grad_norm", r.gradNorm());
                m.put("max_abs_logit", r.maxAbsLogit());
                peak = peak.max(r.forwardPeak()).max(r.backwardPeak()).max(r.optimizerPeak());
                if (step == 1) {
                    phaseEnd(j, "step", err);
                } else {
                    later.add(m);
                    err.println("aspo-lora: step " + step + " done in " + m.get("step_s") + " s");
                }
            }
            if (steps > 1) j.put("later_steps", later);
            BufferPool.clear();   // the last step's graph buffers, which a next step would take
            j.put("live_heap_mb_end", mb(MemoryProbe.liveHeap()));
            j.put("peak_heap_mb", mb(peak.sampled()));
            j.put("peak_live_heap_mb", mb(peak.afterGc()));
            j.put("peak_heap_pools_mb", mb(MemoryProbe.poolPeaks()));
            j.put("peak_rss_mb", mb(MemoryProbe.peakRss()));
        }
        out.println(new ObjectMapper().writeValueAsString(j));
        return 0;
    }

    /** A phase's heap peaks: {@code <phase>_peak_heap_mb} (sampled) and {@code <phase>_peak_live_mb} (right after a collection). */
    private static void peaks(Map<String, Object> j, String phase, MemoryProbe.Peak p) {
        j.put(phase + "_peak_heap_mb", mb(p.sampled()));
        j.put(phase + "_peak_live_mb", mb(p.afterGc()));
    }

    /** After a phase: its live heap (a full GC) and the resident set, also as a progress line. */
    private static void phaseEnd(Map<String, Object> j, String phase, PrintWriter err) {
        double live = mb(MemoryProbe.liveHeap()), rss = mb(MemoryProbe.rss());
        j.put("live_heap_mb_after_" + phase, live);
        j.put("rss_mb_after_" + phase, rss);
        Object secs = j.get(phase + "_s");
        err.println(String.format(Locale.ROOT, "aspo-lora: %s done%s; live heap %.0f MB, RSS %.0f MB", phase,
                secs == null ? "" : " in " + secs + " s", live, rss));
    }

    private static double seconds(long since) {
        return round((System.nanoTime() - since) * 1e-9);
    }

    private static double round(double s) {
        return Math.round(s * 1000) / 1000.0;
    }

    private static double mb(long bytes) {
        return bytes < 0 ? -1 : Math.round(bytes / 1048576.0 * 10) / 10.0;
    }

    private static double gib(long bytes) {
        return bytes / (1024.0 * 1024 * 1024);
    }
}
