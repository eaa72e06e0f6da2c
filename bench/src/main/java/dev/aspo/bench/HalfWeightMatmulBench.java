package dev.aspo.bench;

import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.cpu.CpuBackend;
import dev.aspo.tensor.cpu.HalfStorage;
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
 * A linear layer's product {@code Y = X W^T} ({@code X [m, k]}, {@code W [n, k]}) through the CPU
 * backend with the weight in float32 or held in bfloat16 or float16 (widened while the GEMM packs it): what
 * the 16-bit weights cost in time for the memory they save. {@code m = 1} is a decode step (dot
 * products, every weight row widened once per call), larger {@code m} a prefill or training
 * micro-batch (packed panels, each widened once per block and reused by every row of X).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class HalfWeightMatmulBench {
    @Param({"1", "32", "256"})
    public int m;

    @Param({"2048"})
    public int k;

    @Param({"2048"})
    public int n;

    @Param({"float32", "bfloat16", "float16"})
    public String weights;

    private Storage x, w, y;

    @Setup
    public void setup() {
        Random rng = new Random(1);
        float[] xs = new float[m * k], ws = new float[n * k];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) rng.nextGaussian();
        for (int i = 0; i < ws.length; i++) ws[i] = (float) rng.nextGaussian();
        x = CpuBackend.INSTANCE.upload(xs);
        Precision p = Precision.parse(weights, "weights");
        w = p == Precision.FLOAT32 ? CpuBackend.INSTANCE.upload(ws) : HalfStorage.round(ws, p, "w");
        y = CpuBackend.INSTANCE.allocate(m * n);
    }

    /** Y = X W^T; the result stays in {@code y}, which JMH keeps alive through the state. */
    @Benchmark
    public Storage linear() {
        CpuBackend.INSTANCE.matmul(x, 0, false, w, 0, true, y, 1, m, n, k, false);
        return y;
    }
}
