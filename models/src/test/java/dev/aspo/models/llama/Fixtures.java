package dev.aspo.models.llama;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The fixtures of {@code models/src/test/python/make_llama_fixtures.py} and how close we are to them. */
public final class Fixtures {
    private Fixtures() {}

    public static final String[] CASES = {"gqa_untied", "mha_tied", "right_padding", "ignored_labels"};

    public static Path dir(String name) {
        try {
            return Path.of(Fixtures.class.getResource("/llama/" + name + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static SafeTensorsFile expected(String name) throws IOException {
        return SafeTensorsFile.open(dir(name).resolve("expected.safetensors"));
    }

    /** {@code [B*T]} I64 as ints. */
    public static int[] ints(SafeTensorsFile f, String name) throws IOException {
        return f.readLong(name).toIntArray();
    }

    /** An I64 0/1 attention mask as floats, or null when the fixture has none. */
    public static float[] mask(SafeTensorsFile f, String name) throws IOException {
        if (!f.contains(name)) return null;
        int[] m = ints(f, name);
        float[] out = new float[m.length];
        for (int i = 0; i < m.length; i++) out[i] = m[i];
        return out;
    }

    /** Asserts every {@code |a - e| <= tol}; returns {max abs difference, that over max |e|}. */
    public static double[] assertAbs(String what, float[] expected, float[] actual, double tol) {
        double[] d = diff(what, expected, actual);
        assertTrue(d[0] <= tol, what + ": max difference " + d[0] + " > " + tol + " (element " + (int) d[2] + ")");
        return d;
    }

    /**
     * Asserts {@code max |a - e| <= rel * max |e|} over the tensor (a relative error that tiny
     * elements cannot blow up, and that a wrongly scaled tensor cannot pass).
     */
    public static double[] assertRel(String what, float[] expected, float[] actual, double rel) {
        double[] d = diff(what, expected, actual);
        assertTrue(d[0] <= rel * d[3], what + ": max difference " + d[0] + " (element " + (int) d[2] + ") > " + rel
                + " x max |expected| " + d[3]);
        return d;
    }

    /** {max abs difference, relative to max |e|, its index, max |e|}. */
    private static double[] diff(String what, float[] expected, float[] actual) {
        assertTrue(expected.length == actual.length, what + ": " + actual.length + " values, expected " + expected.length);
        double maxAbs = 0, scale = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= maxAbs)) {        // NaN counts as the worst
                maxAbs = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                at = i;
            }
        }
        return new double[] {maxAbs, scale == 0 ? maxAbs : maxAbs / scale, at, scale};
    }
}
