package dev.aspo.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * AdamW (with gradient clipping on one step, a parameter group without weight decay and a
 * parameter that misses a gradient) against {@code torch.optim.AdamW}, step by step, through the
 * fixture {@code optim/adamw.json} written by {@code tensor/src/test/python/make_optim_fixture.py}.
 */
class AdamWParityTest {
    /**
     * Relative tolerance, against each value or the tensor's root-mean-square if that is larger:
     * torch's vectorised sqrt is not correctly rounded (it differs from IEEE sqrt in about 15% of
     * elements by an ulp), so a value that is the small difference of two larger terms can only
     * be held to the ulps of those terms.
     */
    private static final double REL = 1e-6;

    @ParameterizedTest
    @ValueSource(strings = {"default", "odd"})
    void matchesTorchStepByStep(String c) throws IOException {
        Map<String, double[]> fx = FlatJson.resource("/optim/adamw.json");
        double[] hyper = get(fx, c + ".hyper"), lrs = get(fx, c + ".lr"), clip = get(fx, c + ".clip");

        Map<String, Tensor> params = new LinkedHashMap<>();
        String initPrefix = c + ".init.";
        for (Map.Entry<String, double[]> e : fx.entrySet()) {
            if (e.getKey().startsWith(initPrefix)) {
                float[] init = toFloat(e.getValue());
                params.put(e.getKey().substring(initPrefix.length()), Tensor.of(init, init.length).requiresGrad(true));
            }
        }
        assertEquals(4, params.size(), "parameters in the fixture");
        var options = new AdamW.Options(lrs[0], hyper[0], hyper[1], hyper[2], hyper[3]);
        AdamW opt = new AdamW(params, options, AdamW.biasesAndNorms());
        for (String name : params.keySet()) {
            assertEquals(get(fx, c + ".decay." + name)[0] == 1, opt.decays(name), "weight-decay group of " + name);
        }

        List<Tensor> list = new ArrayList<>(params.values());
        for (int s = 0; s < lrs.length; s++) {
            opt.zeroGrad();
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                double[] g = fx.get(c + ".grad." + s + "." + e.getKey());
                if (g != null) setGrad(e.getValue(), toFloat(g));
            }
            if (s == (int) clip[0]) {
                double total = GradClip.clipGlobalNorm(list, clip[1]);
                assertClose(c + " clip norm", new double[] {clip[2]}, new float[] {(float) total});
            }
            opt.setLr(lrs[s]);
            opt.step();
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                assertClose(c + " step " + s + " " + e.getKey(), get(fx, c + ".param." + s + "." + e.getKey()),
                        e.getValue().toFloatArray());
            }
        }

        Map<String, float[]> state = opt.state();
        for (String name : params.keySet()) {
            for (String key : new String[] {"exp_avg", "exp_avg_sq", "step"}) {
                String k = name + "." + key;
                assertTrue(state.containsKey(k), "state has " + k);
                assertClose(c + " state " + k, get(fx, c + ".state." + k), state.get(k));
            }
        }
        assertEquals(3 * params.size(), state.size(), "state keys " + state.keySet());
    }

    static void setGrad(Tensor p, float[] g) {
        p.zeroGrad();
        p.backend().axpy(1f, p.backend().upload(g), p.gradBuffer(), g.length);
    }

    private static double[] get(Map<String, double[]> fx, String key) {
        double[] v = fx.get(key);
        if (v == null) fail("fixture optim/adamw.json has no key " + key);
        return v;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static void assertClose(String what, double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double rms = 0;
        for (double e : expected) rms += e * e / expected.length;
        rms = Math.sqrt(rms);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= REL * Math.max(Math.abs(expected[i]), rms))) {
                fail(what + "[" + i + "]: expected " + expected[i] + " (torch), got " + actual[i]
                        + " (relative error " + err / Math.abs(expected[i]) + ")");
            }
        }
    }
}
