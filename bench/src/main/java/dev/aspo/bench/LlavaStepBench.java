package dev.aspo.bench;

import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.opencl.Devices;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.opencl.TaskGraph;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The training step of {@code aspo bench step} and its parts, on the yardstick LLaVA of
 * docs/PERFORMANCE.md (made by {@code bench/pytorch/make_step_model.py DIR}; the weights are not
 * in the repository):
 *
 * <pre>
 *   forward           forward + mean cross-entropy, graph recorded (as in a training step)
 *   forwardBackward   zeroGrad, forward + loss, backward (in a BufferPool step scope, as the trainers)
 *   optimizer         one AdamW update (lr 1e-4, torch's defaults) of every parameter
 *   step              all of it: what aspo bench step and bench/pytorch/step_bench.py time
 *   replayedStep      step recorded once as an OpenCL task graph and replayed (OpenCL devices only;
 *                     the batch is the fixed one of every benchmark here)
 * </pre>
 *
 * <p>{@code -p model=random} builds the same shapes in Java instead (this engine's random init and a
 * random batch of the same layout): no Python, no weight files, e.g. on a GPU machine; the losses
 * then differ from PyTorch's, the work per step is the same.
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar LlavaStepBench -p model=DIR}
 * (threads: {@code -jvmArgsAppend -Daspo.threads=2}, the PyTorch figure's setting). The fork runs with the
 * launcher's collector settings (G1, 1 MB regions: see ./aspo). {@code -p device=opencl} runs the same
 * step on the OpenCL backend (with PoCL, start java with {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so}
 * and a writable {@code POCL_CACHE_DIR}: the fork inherits both).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"--add-modules", "jdk.incubator.vector", "-XX:+UseG1GC", "-XX:G1HeapRegionSize=1m", "-Xmx8g"})
public class LlavaStepBench {
    /**
     * A folder written by bench/pytorch/make_step_model.py (config.json, model.safetensors,
     * input.safetensors), or {@code random} (the yardstick's shapes built here).
     */
    @Param("/tmp/aspo-step-model")
    public String model;

    /** cpu, opencl or opencl:P:D ({@code Devices.select}). */
    @Param("cpu")
    public String device;

    private LlavaForConditionalGeneration llava;
    private AdamW opt;
    private int[] ids, labels;
    private float[] mask;
    private int batch, seq;
    private Tensor pixels;
    /** replayedStep's plan and the loss tensor its replays fill. */
    private TaskGraph.Plan<Void> plan;
    private Tensor replayedLoss;

    @Setup
    public void setup(BenchmarkParams params) throws IOException {
        Backends.use(Devices.select(device));   // before loading: weights live there
        if (model.equals("random")) {
            randomYardstick();
        } else {
            load(Path.of(model));
        }
        opt = new AdamW(llava.namedParameters(), AdamW.Options.of(1e-4), name -> false);
        forwardBackward();      // gradients for the optimizer-only benchmark
        if (params.getBenchmark().endsWith(".replayedStep")) {
            if (!(Backends.current() instanceof OpenClBackend)) {
                throw new IllegalStateException("replayedStep needs an OpenCL device (-p device=opencl), got " + device);
            }
            opt.step();         // AdamW's moments exist before recording
            plan = TaskGraph.record((OpenClBackend) Backends.current(), () -> {
                replayedLoss = forwardBackwardTensor();
                opt.step();
            });
        }
    }

    private void load(Path dir) throws IOException {
        llava = LlavaForConditionalGeneration.load(dir);
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("input.safetensors"))) {
            int[] shape = f.info("input_ids").shape();
            batch = shape[0];
            seq = shape[1];
            ids = ints(f.readLong("input_ids").data());
            labels = ints(f.readLong("labels").data());
            int[] m = ints(f.readLong("attention_mask").data());
            mask = new float[m.length];
            for (int i = 0; i < m.length; i++) mask[i] = m[i];
            pixels = f.readFloat("pixel_values");
        }
    }

    /**
     * make_step_model.py's model and batch layout with this engine's random init: CLIP tower 128
     * wide, 4 layers, 48 px in patches of 8; Llama decoder 256 wide, 4 layers, 8 heads / 4 KV heads,
     * intermediate 688, vocabulary 1024 (the image token last); 8 rows of 6 prompt tokens, 36 image
     * tokens and 42 text tokens, labels on the text.
     */
    private void randomYardstick() {
        int vocab = 1024, image = vocab - 1, prompt = 6, patches = 36, text = 42;
        ClipVisionConfig vision = ClipVisionConfig.of(128, 512, 4, 4, 48, 8, ClipActivation.QUICK_GELU);
        LlamaConfig decoder = LlamaConfig.builder().vocabSize(vocab).hiddenSize(256).intermediateSize(688)
                .numHiddenLayers(4).numAttentionHeads(8).numKeyValueHeads(4).maxPositionEmbeddings(256).build();
        llava = LlavaForConditionalGeneration.random(LlavaConfig.builder(vision, decoder).imageTokenIndex(image)
                .imageSeqLength(patches).visionFeatureLayer(-2).visionFeatureSelectStrategy("default").build(), 1234);
        Random rng = new Random(1234);
        batch = 8;
        seq = prompt + patches + text;
        ids = new int[batch * seq];
        labels = new int[batch * seq];
        mask = new float[batch * seq];
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t < seq; t++) {
                int i = r * seq + t;
                ids[i] = t >= prompt && t < prompt + patches ? image : 1 + rng.nextInt(image - 1);
                labels[i] = t < prompt + patches ? -100 : ids[i];
                mask[i] = 1;
            }
        }
        pixels = Tensor.randn(rng, 1f, batch, 3, 48, 48);
    }

    @TearDown
    public void tearDown() {
        if (plan != null) plan.close();
    }

    private static int[] ints(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.toIntExact(v[i]);
        return out;
    }

    private Tensor loss() {
        return llava.loss(ids, batch, seq, mask, pixels, labels);
    }

    @Benchmark
    public float forward() {
        return loss().item();
    }

    @Benchmark
    public float forwardBackward() {
        try (var buffers = BufferPool.step()) {   // as the trainers and aspo bench step: the graph's buffers are reused
            return forwardBackwardTensor().item();
        }
    }

    private Tensor forwardBackwardTensor() {
        opt.zeroGrad();
        Tensor loss = loss();
        loss.backward();
        return loss;
    }

    @Benchmark
    public AdamW optimizer() {
        opt.step();
        return opt;
    }

    @Benchmark
    public float step() {
        float l = forwardBackward();
        opt.step();
        return l;
    }

    @Benchmark
    public float replayedStep() {
        plan.execute();
        return replayedLoss.item();
    }
}
