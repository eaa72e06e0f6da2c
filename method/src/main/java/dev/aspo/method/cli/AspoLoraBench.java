package dev.aspo.method.cli;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.method.train.CachedReference;
import dev.aspo.method.train.PolicyModel;
import dev.aspo.method.train.PreferenceStep;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraConfig;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.lora.TargetModules;
import dev.aspo.models.nn.Module;
import dev.aspo.models.nn.RandomMatrices;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.CpuStorage;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import dev.aspo.tensor.ops.Arithmetic;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One ASPO step that trains LoRA adapters on a LLaVA of random weights ({@code aspo bench
 * aspo-lora}), in phases a caller can measure and a test can look between:
 *
 * <pre>
 *   build      the model: every weight matrix ~ N(0, 0.02^2) made straight in dtype, one matrix at a
 *              time ({@link RandomMatrices}; no float32 copy of the model ever exists); norms 1,
 *              biases 0 (float32); activation checkpointing on or off
 *   adapters   LoRA on every linear layer of the decoder (q/k/v/o_proj, gate/up/down_proj; PEFT's
 *              init: lora_B zero), the base frozen; AdamW (betas 0.9/0.999, eps 1e-8, no weight
 *              decay: the trainers' defaults) over the adapters only
 *   reference  the pairs' per-token log-probs under the base model (adapters off, no graph), kept
 *              per response token as a trainer's reference_mode: cached keeps them
 *   step       as a trainer's step (TrainingLoop, PolicyStep): zeroGrad; in a BufferPool.step()
 *              scope the forward (logits, per-token log-probs, the ASPO loss against the cached
 *              reference) and its backward; the gradient norm clipped to 1; AdamW
 * </pre>
 *
 * The batch is every pair at once: chosen rows, then rejected rows, right-padded. Adapters'
 * dropout masks are drawn as in training ({@link LoraModel#train}).
 */
final class AspoLoraBench {
    /** The decoder's linear layers (PEFT's names for Llama), not the vision tower's or the projector's. */
    static final String DECODER_TARGETS = ".*language_model.*\\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)";

    /** What to make and train; {@code decoderLayers}, {@code visionLayers} null: the shape's own. */
    record Settings(BenchShape shape, Integer decoderLayers, Integer visionLayers, int pairs, int rank, double loraAlpha,
                    double loraDropout, Precision dtype, boolean checkpointing, double lr, long seed) {
        Settings {
            if (decoderLayers != null && decoderLayers < 1) throw new IllegalArgumentException("--layers must be at least 1, got " + decoderLayers);
            if (visionLayers != null && visionLayers < 1) {
                throw new IllegalArgumentException("--vision-layers must be at least 1, got " + visionLayers);
            }
            if (pairs < 1) throw new IllegalArgumentException("--pairs must be at least 1, got " + pairs);
            if (rank < 1) throw new IllegalArgumentException("--rank must be at least 1, got " + rank);
            if (!(loraAlpha > 0) || Double.isInfinite(loraAlpha)) {
                throw new IllegalArgumentException("--lora-alpha must be a positive number, got " + loraAlpha);
            }
            if (!(loraDropout >= 0 && loraDropout < 1)) throw new IllegalArgumentException("--lora-dropout must be in [0, 1), got " + loraDropout);
            if (dtype == Precision.FLOAT32) {
                throw new IllegalArgumentException("--dtype float32: the bench makes its random weights in 16 bits; use bfloat16 or float16");
            }
            if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr must be a number >= 0, got " + lr);
        }
    }

    final Settings settings;
    final LlavaConfig config;
    final SyntheticPairs data;
    LlavaForConditionalGeneration model;
    LoraModel lora;
    AdamW opt;
    CachedReference reference;

    AspoLoraBench(Settings settings) {
        this.settings = settings;
        this.config = settings.shape().config(settings.decoderLayers(), settings.visionLayers());
        this.data = new SyntheticPairs(config, settings.shape(), settings.pairs(), settings.seed() + 1);
    }

    // ---- what the model needs, before it exists -----------------------------------------------

    /** Elements of the model's weight matrices (held in dtype): decoder, embeddings, lm_head, tower, projector. */
    static long matrixElements(LlavaConfig c) {
        LlamaConfig t = c.textConfig;
        long h = t.hiddenSize, q = (long) t.numAttentionHeads * t.headDim, kv = (long) t.numKeyValueHeads * t.headDim;
        long text = (long) t.vocabSize * h * (t.tieWordEmbeddings ? 1 : 2)
                + t.numHiddenLayers * (h * q + 2 * h * kv + q * h + 3 * h * t.intermediateSize);
        ClipVisionConfig v = c.visionConfig;
        long cv = v.hiddenSize();
        long vision = cv * v.numChannels() * v.patchSize() * v.patchSize() + (v.numPatches() + 1L) * cv
                + v.numHiddenLayers() * (4 * cv * cv + 2 * cv * v.intermediateSize());
        long projector = (long) c.projectorInputSize() * h + h * h;
        return text + vision + projector;
    }

    /** Parameters of the adapters: rank x (in + out) for each of the decoder's seven linear layers per layer. */
    static long adapterElements(LlavaConfig c, int rank) {
        LlamaConfig t = c.textConfig;
        long h = t.hiddenSize, q = (long) t.numAttentionHeads * t.headDim, kv = (long) t.numKeyValueHeads * t.headDim;
        long perLayer = (h + q) + 2 * (h + kv) + (q + h) + 3 * (h + t.intermediateSize);
        return (long) t.numHiddenLayers * rank * perLayer;
    }

    /**
     * The least heap the run can take: the weight matrices in dtype, and the adapters four times
     * over in float32 (values, gradients, AdamW's two moments). Activations come on top.
     */
    long stateBytes() {
        return matrixElements(config) * settings.dtype().bytes() + 4 * 4 * adapterElements(config, settings.rank());
    }

    // ---- phases -------------------------------------------------------------------------------

    /** Makes the model with random matrices in dtype. */
    void build() {
        try (var s = Module.matricesIn(settings.dtype(), RandomMatrices.normal(settings.seed(), config.textConfig.initializerRange))) {
            model = new LlavaForConditionalGeneration(config);
        }
        model.setGradientCheckpointing(settings.checkpointing());
    }

    /** Puts the adapters on the decoder and makes the optimiser over them. */
    void attachAdapters() {
        LoraConfig c = LoraConfig.of(settings.rank(), settings.loraAlpha(), TargetModules.regex(DECODER_TARGETS))
                .withDropout(settings.loraDropout()).withTaskType("CAUSAL_LM");
        lora = LoraModel.inject(model, c, settings.seed());
        opt = new AdamW(lora.trainableParameters(), new AdamW.Options(settings.lr(), 0.9, 0.999, 1e-8, 0.0), AdamW.biasesAndNorms());
    }

    /** The reference log-probs of every sequence: the base model with its adapters off, without a graph. */
    void referencePass() {
        PolicyModel base = new BenchPolicy(true);
        reference = CachedReference.compute(base, data.sequences, null, data.sequences.size());
        Batch b = data.batch(0, data.pairs(), base.padId(), 0);
        float[] ref = reference.logps(b, data.batchKeys(0, data.pairs()));
        for (int p = 0; p < ref.length; p++) {
            if (b.targets[p] >= 0 && !(Float.isFinite(ref[p]) && ref[p] <= 0)) {
                throw new IllegalStateException("reference log-prob " + ref[p] + " at row " + p / b.seq + ", position " + p % b.seq
                        + ": the random model does not compute finite probabilities");
            }
        }
    }

    /**
     * What a step computed and how long its parts took (wall and process CPU seconds, summed over
     * its micro-batches), with each part's heap peaks (the largest over its micro-batches; {@link
     * MemoryProbe.Peak#NONE} without a probe). {@code pairs}: each pair's loss and rewards, in order.
     */
    record StepResult(double forwardSeconds, double backwardSeconds, double optimizerSeconds, double forwardCpu,
                      double backwardCpu, double optimizerCpu, float loss, double gradNorm, float maxAbsLogit, int microBatches,
                      List<LossResult.PairResult> pairs, MemoryProbe.Peak forwardPeak, MemoryProbe.Peak backwardPeak,
                      MemoryProbe.Peak optimizerPeak) {}

    /**
     * Optimiser step {@code step} (1, 2, ...) on every pair, {@code microBatch} pairs at a time (a
     * trainer's batch_size, with grad_accum = pairs / microBatch: each micro-batch's loss weighted by
     * its share of the pairs). Every micro-batch is padded to the longest sequence, so that all have
     * one shape and the buffer pool serves the second from the first. {@code probe} may be null.
     */
    StepResult step(long step, int microBatch, MemoryProbe probe) {
        BenchPolicy policy = new BenchPolicy(false);
        int pairs = data.pairs(), padTo = data.longest();
        lora.train(settings.seed() * 0x9E3779B97F4A7C15L + step);   // the step's dropout masks, as LoraTraining seeds them
        double forward = 0, backward = 0, forwardCpu = 0, backwardCpu = 0;
        MemoryProbe.Peak forwardPeak = MemoryProbe.Peak.NONE, backwardPeak = MemoryProbe.Peak.NONE;
        float loss = 0, maxAbs = 0;
        List<LossResult.PairResult> pairResults = new ArrayList<>();
        int micro = 0;
        if (probe != null) probe.resetPeak();
        opt.zeroGrad();
        for (int from = 0; from < pairs; from += microBatch) {
            int to = Math.min(pairs, from + microBatch);
            Batch b = data.batch(from, to, policy.padId(), padTo);
            float[] ref = reference.logps(b, data.batchKeys(from, to));
            float share = (float) (to - from) / pairs;
            long t0 = System.nanoTime(), t1, t2;
            double c0 = ProcessCpu.seconds(), c1, c2;
            try (var buffers = BufferPool.step()) {   // the micro-batch's graph buffers serve the next one
                Tensor logits = policy.logits(b);
                maxAbs = Math.max(maxAbs, maxAbs(logits));
                Tensor lp = TokenLogProbs.of(logits, b.targets);
                float[] lpv = lp.toFloatArray();
                for (int p = 0; p < lpv.length; p++) {
                    if (b.targets[p] >= 0 && !Float.isFinite(lpv[p])) {
                        throw new IllegalStateException("policy log-prob " + lpv[p] + " at row " + p / b.seq + ", position " + p % b.seq);
                    }
                }
                LossResult res = PreferenceStep.loss(LossConfig.aspo(), lp, ref, b, data.similarities.subList(from, to), null);
                float value = res.loss().item();
                if (!Float.isFinite(value)) throw new IllegalStateException("the ASPO loss is " + value);
                pairResults.addAll(res.pairs());
                micro++;
                loss += share * value;
                t1 = System.nanoTime();
                c1 = ProcessCpu.seconds();
                if (probe != null) forwardPeak = forwardPeak.max(probe.resetPeak());
                Arithmetic.scale(res.loss(), share).backward();
                t2 = System.nanoTime();
                c2 = ProcessCpu.seconds();
                if (probe != null) backwardPeak = backwardPeak.max(probe.resetPeak());
            }
            forward += (t1 - t0) * 1e-9;
            backward += (t2 - t1) * 1e-9;
            forwardCpu += c1 - c0;
            backwardCpu += c2 - c1;
        }
        long t2 = System.nanoTime();
        double c2 = ProcessCpu.seconds();
        double norm = GradClip.clipGlobalNorm(opt.params(), 1.0);
        if (!Double.isFinite(norm)) throw new IllegalStateException("the gradient norm is " + norm);
        opt.step();
        long t3 = System.nanoTime();
        double c3 = ProcessCpu.seconds();
        MemoryProbe.Peak optimizerPeak = probe == null ? MemoryProbe.Peak.NONE : probe.resetPeak();
        lora.eval();
        return new StepResult(forward, backward, (t3 - t2) * 1e-9, forwardCpu, backwardCpu, c3 - c2, loss, norm, maxAbs, micro,
                pairResults, forwardPeak, backwardPeak, optimizerPeak);
    }

    /** The largest |logit|; a NaN or infinity is an error (the random weights' scale let activations blow up). */
    private static float maxAbs(Tensor logits) {
        float[] v = CpuStorage.data(logits.storage());
        float m = 0;
        for (int i = 0, n = logits.numel(); i < n; i++) {
            float a = Math.abs(v[i]);
            if (!(a <= Float.MAX_VALUE)) throw new IllegalStateException("logit " + v[i] + " at flat index " + i);
            m = Math.max(m, a);
        }
        return m;
    }

    /**
     * The LLaVA as a trainer's policy, each row's image taken from the synthetic pairs ({@code
     * baseOnly}: the base model, adapters off, as a LoRA run's reference).
     */
    private final class BenchPolicy implements PolicyModel {
        private final boolean baseOnly;

        BenchPolicy(boolean baseOnly) {
            this.baseOnly = baseOnly;
        }

        @Override
        public Tensor logits(Batch batch) {
            int[] chw = data.chw;
            int per = chw[0] * chw[1] * chw[2];
            float[] px = new float[batch.batch * per];
            for (int r = 0; r < batch.batch; r++) System.arraycopy(data.pixels.get(batch.rows.get(r)), 0, px, r * per, per);
            Tensor pixels = Tensor.of(px, batch.batch, chw[0], chw[1], chw[2]);
            if (!baseOnly) return model.forward(batch.ids, batch.batch, batch.seq, batch.attentionMask, pixels);
            try (var off = lora.disabled()) {
                return model.forward(batch.ids, batch.batch, batch.seq, batch.attentionMask, pixels);
            }
        }

        @Override
        public Module module() {
            return model;
        }

        @Override
        public void save(Path dir, long maxShardBytes) {
            throw new UnsupportedOperationException("the bench's model is not saved");
        }

        @Override
        public PolicyModel copy() {
            throw new UnsupportedOperationException("the bench's model is not copied");
        }

        @Override
        public int padId() {
            return config.textConfig.padTokenId;
        }

        @Override
        public int eosId() {
            return config.textConfig.eosTokenIds()[0];
        }
    }

    @Override
    public String toString() {
        return "AspoLoraBench(" + settings + ", " + config + ", sequences " + Arrays.toString(data.sequences.stream()
                .mapToInt(s -> s.ids().length).toArray()) + ")";
    }

    /** Sequence lengths, for the report. */
    int[] lengths() {
        return data.sequences.stream().mapToInt((Sequence s) -> s.ids().length).toArray();
    }
}
