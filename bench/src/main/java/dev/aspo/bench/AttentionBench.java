package dev.aspo.bench;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * The fused attention kernels of the default backend, forward alone and forward + backward, at
 * the shapes the models use: the Llama decoder of the small LLaVA (B=8, T=84, Hq=8, Hkv=4, D=32,
 * causal), the CLIP vision tower (B=8, T=37, H=4, D=32, no mask) and a longer causal sequence.
 * PyTorch's {@code scaled_dot_product_attention} on the same shapes: bench/pytorch/attention_bench.py.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar AttentionBench}
 * (threads: {@code -Daspo.threads=N} in {@code -jvmArgsAppend}; default all cores). The gradient
 * buffers keep accumulating across iterations, as the kernels accumulate; that costs the same as
 * adding into zeroed buffers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AttentionBench {
    private static final Pattern SHAPE = Pattern.compile("B(\\d+)-T(\\d+)-S(\\d+)-Hq(\\d+)-Hkv(\\d+)-D(\\d+)-(causal|full)");

    @Param({"B8-T84-S84-Hq8-Hkv4-D32-causal", "B8-T37-S37-Hq4-Hkv4-D32-full", "B4-T256-S256-Hq8-Hkv4-D32-causal"})
    public String shape;

    private final Backend be = Backends.cpu();
    private int batch, seq, keySeq, qHeads, kvHeads, headDim;
    private boolean causal;
    private float scale;
    private Storage q, k, v, out, probs, gout, gq, gk, gv;

    @Setup
    public void setup() {
        Matcher m = SHAPE.matcher(shape);
        if (!m.matches()) throw new IllegalArgumentException("shape " + shape + " is not like " + SHAPE.pattern());
        batch = Integer.parseInt(m.group(1));
        seq = Integer.parseInt(m.group(2));
        keySeq = Integer.parseInt(m.group(3));
        qHeads = Integer.parseInt(m.group(4));
        kvHeads = Integer.parseInt(m.group(5));
        headDim = Integer.parseInt(m.group(6));
        causal = m.group(7).equals("causal");
        scale = (float) (1 / Math.sqrt(headDim));
        Random rng = new Random(1);
        int nq = batch * seq * qHeads * headDim, nkv = batch * keySeq * kvHeads * headDim;
        q = be.upload(randn(rng, nq));
        k = be.upload(randn(rng, nkv));
        v = be.upload(randn(rng, nkv));
        gout = be.upload(randn(rng, nq));
        out = be.allocate(nq);
        probs = be.allocate(batch * qHeads * seq * keySeq);
        gq = be.allocate(nq);
        gk = be.allocate(nkv);
        gv = be.allocate(nkv);
    }

    @Benchmark
    public void forward(Blackhole bh) {
        be.attention(q, k, v, out, probs, null, batch, seq, keySeq, qHeads, kvHeads, headDim, scale, causal);
        bh.consume(out);
    }

    @Benchmark
    public void forwardBackward(Blackhole bh) {
        be.attention(q, k, v, out, probs, null, batch, seq, keySeq, qHeads, kvHeads, headDim, scale, causal);
        be.attentionBackward(q, k, v, probs, gout, gq, gk, gv, batch, seq, keySeq, qHeads, kvHeads, headDim, scale);
        bh.consume(gq);
    }

    private static float[] randn(Random rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
