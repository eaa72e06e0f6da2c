package dev.aspo.opencl;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Storage;
import java.util.Random;

/**
 * A small timing harness for square GEMM on an OpenCL device (no JMH: it runs from a bare jlinked
 * runtime on machines without Maven). For each size and both GEMM kernels it checks 2000 sampled
 * entries of C against dot products in double, then times {@code reps} multiplies after a warm-up;
 * with {@code cpu} as a fourth argument it times the CPU backend too.
 *
 * <pre>java -cp ... dev.aspo.opencl.GemmBench [device=opencl] [sizes=256,512,1024] [reps=5] [cpu]</pre>
 */
public final class GemmBench {
    private GemmBench() {}

    public static void main(String[] args) {
        String spec = args.length > 0 ? args[0] : "opencl";
        String[] sizes = (args.length > 1 ? args[1] : "256,512,1024").split(",");
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        boolean withCpu = args.length > 3 && args[3].equals("cpu");
        OpenClBackend cl = (OpenClBackend) Devices.select(spec);
        System.out.println("device: " + cl.device() + ", default GEMM kernel " + cl.gemmKind());
        OpenClBackend.GemmKind saved = cl.gemmKind();
        for (String s : sizes) {
            int n = Integer.parseInt(s.trim());
            Random rng = new Random(n);
            float[] a = new float[n * n], b = new float[n * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rng.nextGaussian();
                b[i] = (float) rng.nextGaussian();
            }
            StringBuilder line = new StringBuilder("n=" + n);
            for (OpenClBackend.GemmKind kind : OpenClBackend.GemmKind.values()) {
                cl.setGemmKind(kind);
                float[] got = result(cl, a, b, n);
                double err = 0;
                Random pick = new Random(7);
                for (int s2 = 0; s2 < 2000; s2++) {
                    int i = pick.nextInt(n), j = pick.nextInt(n);
                    double e = 0;
                    for (int p = 0; p < n; p++) e += (double) a[i * n + p] * b[p * n + j];
                    err = Math.max(err, Math.abs(got[i * n + j] - e) / Math.max(1, Math.abs(e)));
                }
                line.append(String.format("  opencl/%s %.1f GFLOP/s (max rel err %.1e)", kind, gflops(cl, a, b, n, reps), err));
            }
            cl.setGemmKind(saved);
            if (withCpu) line.append(String.format("  cpu %.1f GFLOP/s", gflops(Backends.cpu(), a, b, n, reps)));
            System.out.println(line);
        }
    }

    private static float[] result(Backend be, float[] a, float[] b, int n) {
        Storage c = be.allocate(n * n);
        be.matmul(be.upload(a), 0, false, be.upload(b), 0, false, c, 1, n, n, n, false);
        float[] out = new float[n * n];
        be.download(c, 0, out, out.length);
        return out;
    }

    private static double gflops(Backend be, float[] a, float[] b, int n, int reps) {
        Storage as = be.upload(a), bs = be.upload(b), c = be.allocate(n * n);
        long warm = System.nanoTime();
        do {   // warm-up: kernel build, JIT, caches; at least two runs and half a second
            for (int i = 0; i < 2; i++) be.matmul(as, 0, false, bs, 0, false, c, 1, n, n, n, false);
            sync(be);
        } while (System.nanoTime() - warm < 500_000_000L);
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) be.matmul(as, 0, false, bs, 0, false, c, 1, n, n, n, false);
        sync(be);
        double sec = (System.nanoTime() - t0) / 1e9;
        return 2.0 * n * n * n * reps / sec / 1e9;
    }

    private static void sync(Backend be) {
        if (be instanceof OpenClBackend) ((OpenClBackend) be).finish();
    }
}
