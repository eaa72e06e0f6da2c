package dev.aspo.models.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.llama.Fixtures;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.lora.LoraFixtures.Case;
import dev.aspo.models.lora.LoraFixtures.Inputs;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * PEFT 0.21's LoRA against ours, on adapters PEFT saved for the tiny LLaVA and Llama fixture
 * models: the adapted model's logits and loss, the gradient of every adapter tensor under PEFT's
 * file names, the base model with the adapters disabled, and merge_and_unload's weights and
 * logits. Tolerances are the models' parity tests' (logits 1e-4 absolute, gradients 1e-3 relative).
 */
class LoraParityTest {
    static final double LOGIT_TOL = 1e-4, LOSS_TOL = 1e-5, GRAD_REL = 1e-3, MERGED_TOL = 1e-6;

    @ParameterizedTest
    @EnumSource(Case.class)
    void logitsLossAndEveryAdapterGradientMatchPeft(Case c) throws Exception {
        Module base = c.loadBase();
        LoraModel lora = LoraModel.load(base, c.dir());
        Inputs in = c.inputs();
        try (SafeTensorsFile f = c.expected()) {
            Tensor logits = in.logits(base);
            Tensor loss = LlamaForCausalLM.causalLmLoss(logits, in.labels());
            double[] lg = Fixtures.assertAbs(c + " logits", f.readFloatArray("logits"), logits.toFloatArray(), LOGIT_TOL);
            Fixtures.assertAbs(c + " loss", f.readFloatArray("loss"), loss.toFloatArray(), LOSS_TOL);
            loss.backward();

            double global = 0;
            for (String n : f.names()) {
                if (n.startsWith("grad.")) for (float v : f.readFloatArray(n)) global = Math.max(global, Math.abs(v));
            }
            Map<String, Tensor> params = lora.trainableParameters();
            TreeSet<String> expectedNames = new TreeSet<>();
            double worst = 0;
            for (String n : f.names()) {
                if (!n.startsWith("grad.")) continue;
                String p = n.substring("grad.".length());
                expectedNames.add(p);
                Tensor param = params.get(p);
                assertNotNull(param, c + ": no adapter tensor " + p + " (have " + params.keySet() + ")");
                float[] got = param.grad() == null ? new float[param.numel()] : param.grad().toFloatArray();
                double[] d = relDiff(f.readFloatArray(n), got, 1e-4 * global);
                assertTrue(d[1] <= GRAD_REL, c + " gradient of " + p + ": max difference " + d[0] + " is " + d[1]
                        + " of the tensor's scale, > " + GRAD_REL);
                worst = Math.max(worst, d[1]);
            }
            assertEquals(expectedNames, new TreeSet<>(params.keySet()), c + ": the adapter tensors are PEFT's, by name");
            for (var e : base.namedParameters().entrySet()) {
                assertNull(e.getValue().grad(), c + ": the base parameter " + e.getKey() + " is frozen but got a gradient");
            }
            System.out.printf("lora parity %-18s logits max abs %.2e | %d adapter gradients, max rel %.2e%n", c.name, lg[0],
                    expectedNames.size(), worst);
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void withTheAdaptersDisabledTheModelIsTheBaseModel(Case c) throws Exception {
        Module base = c.loadBase();
        LoraModel lora = LoraModel.load(base, c.dir());
        Inputs in = c.inputs();
        try (var g = Autograd.noGrad(); var off = lora.disabled()) {
            Fixtures.assertAbs(c + " base logits", c.baseLogits(), in.logits(base).toFloatArray(), LOGIT_TOL);
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void mergeAndUnloadWritesPeftsWeightsAndKeepsTheLogits(Case c) throws Exception {
        Module base = c.loadBase();
        Map<String, Tensor> before = copy(base.namedParameters());
        Module merged = LoraModel.load(base, c.dir()).mergeAndUnload();
        Inputs in = c.inputs();
        try (SafeTensorsFile f = c.expected(); var g = Autograd.noGrad()) {
            int changed = 0;
            for (var e : merged.namedParameters().entrySet()) {
                String key = "merged." + e.getKey();
                if (f.contains(key)) {
                    Fixtures.assertAbs(c + " merged " + e.getKey(), f.readFloatArray(key), e.getValue().toFloatArray(), MERGED_TOL);
                    changed++;
                } else {
                    assertTrue(java.util.Arrays.equals(before.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray()),
                            c + ": merging changed " + e.getKey() + ", which carries no adapter");
                }
            }
            long inFile = f.names().stream().filter(n -> n.startsWith("merged.")).count();
            assertEquals(inFile, changed, c + ": every weight PEFT's merge changed is a parameter of ours");
            Fixtures.assertAbs(c + " merged logits", f.readFloatArray("logits"), in.logits(merged).toFloatArray(), LOGIT_TOL);
        }
    }

    private static Map<String, Tensor> copy(Map<String, Tensor> params) {
        Map<String, Tensor> out = new java.util.LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(e.getKey(), Tensor.of(e.getValue().toFloatArray(), e.getValue().shape()));
        return out;
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
}
