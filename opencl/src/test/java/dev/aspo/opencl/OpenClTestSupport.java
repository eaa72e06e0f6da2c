package dev.aspo.opencl;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Storage;
import java.util.Random;

/**
 * The OpenCL backend under test, or a skipped test when no OpenCL platform is present, unless
 * {@code ASPO_OPENCL_REQUIRED=1} (environment or system property) makes that a failure (CI).
 * {@code ASPO_OPENCL_DEVICE} picks the device ({@code opencl} by default).
 */
final class OpenClTestSupport {
    private OpenClTestSupport() {}

    static OpenClBackend backend() {
        String required = System.getProperty("ASPO_OPENCL_REQUIRED", System.getenv("ASPO_OPENCL_REQUIRED"));
        if (!Devices.available()) {
            if ("1".equals(required)) fail("ASPO_OPENCL_REQUIRED=1 but " + Devices.NO_PLATFORM);
            assumeTrue(false, Devices.NO_PLATFORM);
        }
        String spec = System.getProperty("ASPO_OPENCL_DEVICE", System.getenv("ASPO_OPENCL_DEVICE"));
        return (OpenClBackend) Devices.select(spec == null ? "opencl" : spec);
    }

    static float[] download(Storage s) {
        float[] h = new float[s.size()];
        s.backend().download(s, 0, h, s.size());
        return h;
    }

    static float[] randn(Random rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }

    static float[] uniform(Random rng, int n, float lo, float hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.nextFloat();
        return a;
    }

    /** |actual - expected| <= tol * max(1, |expected|) element by element; NaN only where expected is NaN. */
    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + " != " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) || Float.isNaN(a)) {
                if (Float.isNaN(e) != Float.isNaN(a)) fail(what + " [" + i + "]: expected " + e + ", got " + a);
                continue;
            }
            if (e == a) continue;   // also equal infinities
            if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
                fail(what + " [" + i + "]: expected " + e + ", got " + a + " (diff " + Math.abs(a - e) + ")");
            }
        }
    }

    /** Runs {@code body} on the CPU backend and on {@code cl} and compares every returned buffer. */
    static void same(String what, Backend cpu, Backend cl, java.util.function.Function<Backend, float[][]> body) {
        float[][] e = body.apply(cpu), a = body.apply(cl);
        for (int i = 0; i < e.length; i++) assertClose(what + " output " + i, e[i], a[i], 1e-4);
    }
}
