package dev.aspo.bench;

import dev.aspo.opencl.Devices;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.tensor.Storage;
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
 * Square GEMM {@code C = A @ B} on an OpenCL device, with the kernel the device type picks
 * ({@code kernel=default}) or a named one; each call waits for the device. GFLOP/s = 2 n^3 / time.
 *
 * <p>Run (PoCL needs libjsig preloaded; the forked JVM inherits the environment):
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so POCL_CACHE_DIR=/tmp/pocl java --add-modules
 * jdk.incubator.vector -jar bench/target/benchmarks.jar OpenClMatmulBench}; the device is
 * {@code -Daspo.device=opencl:P:D} in {@code -jvmArgsAppend} (default {@code opencl}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class OpenClMatmulBench {
    @Param({"256", "512", "1024"})
    public int n;

    @Param({"default"})
    public String kernel;

    private OpenClBackend be;
    private Storage a, b, c;

    @Setup
    public void setup() {
        be = (OpenClBackend) Devices.select(System.getProperty("aspo.device", "opencl"));
        if (!kernel.equals("default")) be.setGemmKind(OpenClBackend.GemmKind.valueOf(kernel));
        Random rng = new Random(1);
        a = be.upload(randn(rng, n * n));
        b = be.upload(randn(rng, n * n));
        c = be.allocate(n * n);
    }

    @Benchmark
    public void matmul() {
        be.matmul(a, 0, false, b, 0, false, c, 1, n, n, n, false);
        be.finish();
    }

    private static float[] randn(Random rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
