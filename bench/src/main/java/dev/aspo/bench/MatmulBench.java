package dev.aspo.bench;

import dev.aspo.tensor.Storage;
import dev.aspo.tensor.cpu.CpuBackend;
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
 * One float32 {@code n x n x n} matrix multiply per operation through the CPU backend, on
 * buffers allocated once. GFLOP/s = 2 n^3 / (average time); docs/PERFORMANCE.md compares it with
 * PyTorch's {@code torch.mm} (bench/run-matmul-comparison.sh runs both).
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.AverageTime})
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatmulBench {
    @Param({"256", "512", "1024"})
    public int n;

    private Storage a, b, c;

    @Setup
    public void setup() {
        System.out.println("GEMM micro-kernel " + CpuBackend.gemmKernel());
        Random rng = new Random(1);
        float[] x = new float[n * n], y = new float[n * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
            y[i] = (float) rng.nextGaussian();
        }
        a = CpuBackend.INSTANCE.upload(x);
        b = CpuBackend.INSTANCE.upload(y);
        c = CpuBackend.INSTANCE.allocate(n * n);
    }

    /** C = A @ B; the result stays in {@code c}, which JMH keeps alive through the state. */
    @Benchmark
    public Storage matmul() {
        CpuBackend.INSTANCE.matmul(a, 0, false, b, 0, false, c, 1, n, n, n, false);
        return c;
    }
}
