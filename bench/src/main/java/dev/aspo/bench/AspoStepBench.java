package dev.aspo.bench;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.method.train.FrozenReference;
import dev.aspo.method.train.LlamaPolicy;
import dev.aspo.method.train.PreferenceStep;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * ASPO's extra cost per training step over DPO: one whole optimiser step (policy forward on the
 * concatenated chosen/rejected batch, per-token log-probs, the loss, backward, clipping, AdamW)
 * with cached reference log-probs and cached similarities, as the trainer runs it
 * ({@link PreferenceStep}). The two methods differ only in the loss: DPO sums whole responses;
 * ASPO also computes the per-sentence log-ratios and perplexities from the detached rows,
 * min-max normalises, fuses and weights the tokens. {@code dpoLoss}/{@code aspoLoss} time that
 * loss alone (forward and backward down to the per-token log-probs), which is where the two
 * steps differ: ASPO's overhead is {@code (aspoLoss - dpoLoss) / dpoStep}, a number that stays
 * readable on a busy machine where two whole-step timings are too noisy to subtract.
 *
 * <p>Model: Llama, hidden 128, 2 layers, 4 heads (2 KV), intermediate 344, vocab 1024. Batch: 4
 * pairs, prompt 24 tokens, responses of 40-56 tokens in 5 sentences, right-padded to 80.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar AspoStepBench}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AspoStepBench {
    @Param({"4"})
    public int pairs;

    private LlamaPolicy policy;
    private AdamW opt;
    private Batch batch;
    private float[] ref, lpValues;
    private List<double[]> similarities;
    private final LossConfig dpo = LossConfig.dpo(), aspo = LossConfig.aspo();

    @Setup
    public void setup() {
        Random rng = new Random(1);
        LlamaConfig c = LlamaConfig.builder().vocabSize(1024).hiddenSize(128).intermediateSize(344).numHiddenLayers(2)
                .numAttentionHeads(4).numKeyValueHeads(2).maxPositionEmbeddings(256).bosTokenId(1).eosTokenIds(2).build();
        policy = new LlamaPolicy(LlamaForCausalLM.random(c, 1));
        opt = new AdamW(policy.module().namedParameters(), AdamW.Options.of(1e-5), AdamW.biasesAndNorms());
        List<Sequence> rows = new ArrayList<>();
        similarities = new ArrayList<>();
        for (int r = 0; r < 2 * pairs; r++) {
            int prompt = 24, sentences = 5, response = 40 + rng.nextInt(17);
            int[] ids = new int[prompt + response];
            for (int i = 0; i < ids.length; i++) ids[i] = 3 + rng.nextInt(1021);
            ids[0] = 1;
            ids[ids.length - 1] = 2;
            int[] sentenceIds = new int[response];
            for (int i = 0; i < response; i++) sentenceIds[i] = i * sentences / response;
            rows.add(new Sequence(ids, prompt, sentenceIds, Collections.nCopies(sentences, "s")));
            if (r < pairs) {
                double[] s = new double[sentences];
                for (int i = 0; i < sentences; i++) s[i] = 0.2 + 0.1 * rng.nextDouble();
                similarities.add(s);
            }
        }
        batch = new Batch(rows, 0);
        // the cached reference: per-token log-probs of a frozen model (here a second random one)
        ref = new FrozenReference(new LlamaPolicy(LlamaForCausalLM.random(c, 2))).logps(batch, null);
        lpValues = new FrozenReference(policy).logps(batch, null);
    }

    private float step(LossConfig config, List<double[]> sims) {
        opt.zeroGrad();
        Tensor lp = TokenLogProbs.of(policy.logits(batch), batch.targets);
        LossResult res = PreferenceStep.loss(config, lp, ref, batch, sims, null);
        res.loss().backward();
        GradClip.clipGlobalNorm(opt.params(), 1.0);
        opt.step();
        return res.value();
    }

    /** The loss alone (forward and backward to the log-probs, a leaf here): where DPO and ASPO differ. */
    private float loss(LossConfig config, List<double[]> sims) {
        Tensor lp = Tensor.of(lpValues.clone(), batch.batch, batch.seq).requiresGrad(true);
        LossResult res = PreferenceStep.loss(config, lp, ref, batch, sims, null);
        res.loss().backward();
        return res.value();
    }

    @Benchmark
    public float dpoLoss() {
        return loss(dpo, null);
    }

    @Benchmark
    public float aspoLoss() {
        return loss(aspo, similarities);
    }

    @Benchmark
    public float dpoStep() {
        return step(dpo, null);
    }

    @Benchmark
    public float aspoStep() {
        return step(aspo, similarities);
    }
}
