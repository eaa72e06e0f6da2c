package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.llama.Fixtures;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * transformers 5.17's {@code LlavaForConditionalGeneration} against ours on the checkpoints it
 * saved (and one rewritten in the llava-hf hub layout): logits, the causal-LM loss and the
 * gradient of every parameter, under the names {@code save_pretrained} writes.
 */
class LlavaParityTest {
    /** Logits: absolute (they are O(1)-O(10)); gradients: relative to each tensor's largest entry. */
    static final double LOGIT_TOL = 1e-4, GRAD_REL = 1e-3;

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "tied_full_layer1", "hub_layout", "padding_layers"})
    void logitsLossAndEveryGradientMatchTransformers(String name) throws Exception {
        LlavaForConditionalGeneration model = LlavaForConditionalGeneration.load(LlavaFixtures.dir(name));
        try (SafeTensorsFile in = LlavaFixtures.input(name); SafeTensorsFile f = LlavaFixtures.expected(name)) {
            int[] shape = in.info("input_ids").shape();
            int b = shape[0], t = shape[1];
            Tensor logits = model.forward(LlavaFixtures.ints(in, "input_ids"), b, t, LlavaFixtures.mask(in, "attention_mask"),
                    in.readFloat("pixel_values"));
            Tensor loss = model.loss(LlavaFixtures.ints(in, "input_ids"), b, t, LlavaFixtures.mask(in, "attention_mask"),
                    in.readFloat("pixel_values"), LlavaFixtures.ints(in, "labels"));
            double[] lg = Fixtures.assertAbs(name + " logits", f.readFloatArray("logits"), logits.toFloatArray(), LOGIT_TOL);
            double[] ls = Fixtures.assertAbs(name + " loss", f.readFloatArray("loss"), loss.toFloatArray(), 1e-5);

            loss.backward();
            // k_proj.bias has a zero gradient in exact arithmetic (softmax ignores the constant
            // q . b_k every key gets): both sides hold rounding noise there, so no tensor is
            // compared at a scale below 1e-4 of the largest gradient entry of the model.
            double global = 0;
            for (String n : f.names()) {
                if (n.startsWith("grad.")) for (float v : f.readFloatArray(n)) global = Math.max(global, Math.abs(v));
            }
            Map<String, Tensor> params = model.namedParameters();
            TreeSet<String> expectedNames = new TreeSet<>();
            double worstAbs = 0, worstRel = 0;
            int zero = 0;
            for (String n : f.names()) {
                if (!n.startsWith("grad.")) continue;
                String p = n.substring("grad.".length());
                expectedNames.add(p);
                Tensor param = params.get(p);
                assertNotNull(param, name + ": the model has no parameter " + p);
                float[] e = f.readFloatArray(n);
                float[] got = param.grad() == null ? new float[param.numel()] : param.grad().toFloatArray();
                if (param.grad() == null) zero++;
                double[] d = relDiff(e, got, 1e-4 * global);
                assertTrue(d[1] <= GRAD_REL, name + " gradient of " + p + ": max difference " + d[0] + " > " + GRAD_REL
                        + " x max(max |expected|, 1e-4 x largest gradient) = " + d[0] / d[1]);
                worstAbs = Math.max(worstAbs, d[0]);
                worstRel = Math.max(worstRel, d[1]);
            }
            assertEquals(expectedNames, new TreeSet<>(params.keySet()), name + ": every parameter has an expected gradient");
            System.out.printf("llava parity %-17s logits max abs %.2e | loss abs %.2e | %d gradients max abs %.2e, max rel %.2e"
                    + " (%d without gradient, zero in transformers too)%n", name, lg[0], ls[0], expectedNames.size(), worstAbs,
                    worstRel, zero);
        }
    }

    /** {max |a - e|, that over max(max |e|, floor)}. */
    static double[] relDiff(float[] expected, float[] actual, double floor) {
        assertEquals(expected.length, actual.length, "gradient sizes");
        double max = 0, scale = floor;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs((double) actual[i] - expected[i]);
            max = d <= max ? max : Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
        }
        return new double[] {max, scale == 0 ? max : max / scale};
    }

    @Test
    void generateFixturePromptLogitsMatchTransformers() throws Exception {
        LlavaForConditionalGeneration model = LlavaForConditionalGeneration.load(LlavaFixtures.dir("generate"));
        try (SafeTensorsFile f = LlavaFixtures.expected("generate"); var g = Autograd.noGrad()) {
            int[] ids = LlavaFixtures.ints(f, "gen.input_ids");
            Tensor logits = model.forward(ids, 1, ids.length, null, f.readFloat("gen.pixel_values"));
            double[] d = Fixtures.assertAbs("generate prompt logits", f.readFloatArray("logits"), logits.toFloatArray(), LOGIT_TOL);
            System.out.printf("llava parity generate prompt logits max abs %.2e%n", d[0]);
        }
    }
}
