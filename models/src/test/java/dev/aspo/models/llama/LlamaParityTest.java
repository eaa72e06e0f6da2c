package dev.aspo.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * transformers 5.17's {@code LlamaForCausalLM} against ours on the checkpoints it saved: logits,
 * the causal-LM loss and the gradient of every parameter (fixtures from
 * {@code make_llama_fixtures.py}; the cases are described there).
 */
class LlamaParityTest {
    /** Logits: absolute (they are O(1)-O(10)); gradients: relative to each tensor's largest entry. */
    static final double LOGIT_TOL = 1e-4, GRAD_REL = 1e-3;

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "mha_tied", "right_padding", "ignored_labels"})
    void logitsLossAndEveryGradientMatchTransformers(String name) throws Exception {
        LlamaForCausalLM model = LlamaForCausalLM.load(Fixtures.dir(name));
        try (SafeTensorsFile f = Fixtures.expected(name)) {
            int[] shape = f.info("input.ids").shape();
            int b = shape[0], t = shape[1];
            Tensor logits = model.forward(Fixtures.ints(f, "input.ids"), b, t, Fixtures.mask(f, "input.attention_mask"));
            Tensor loss = LlamaForCausalLM.causalLmLoss(logits, Fixtures.ints(f, "input.labels"));
            double[] lg = Fixtures.assertAbs(name + " logits", f.readFloatArray("expected.logits"), logits.toFloatArray(),
                    LOGIT_TOL);
            double[] ls = Fixtures.assertAbs(name + " loss", f.readFloatArray("expected.loss"), loss.toFloatArray(), 1e-5);

            loss.backward();
            Map<String, Tensor> params = model.namedParameters();
            TreeSet<String> expectedNames = new TreeSet<>();
            double worstAbs = 0, worstRel = 0;
            for (String n : f.names()) {
                if (!n.startsWith("grad.")) continue;
                String p = n.substring("grad.".length());
                expectedNames.add(p);
                Tensor param = params.get(p);
                assertNotNull(param, name + ": the model has no parameter " + p);
                assertNotNull(param.grad(), name + ": no gradient reached " + p);
                float[] e = f.readFloatArray(n);
                double[] d = Fixtures.assertRel(name + " gradient of " + p, e, param.grad().toFloatArray(), GRAD_REL);
                worstAbs = Math.max(worstAbs, d[0]);
                worstRel = Math.max(worstRel, d[1]);
            }
            assertEquals(expectedNames, new TreeSet<>(params.keySet()), name + ": every parameter has an expected gradient");
            System.out.printf("llama parity %-15s logits max abs %.2e | loss abs %.2e | gradients max abs %.2e, max rel %.2e%n",
                    name, lg[0], ls[0], worstAbs, worstRel);
        }
    }
}
