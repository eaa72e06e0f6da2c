package dev.aspo.tensor.parity;

import static dev.aspo.tensor.GradCheck.assertClose;
import static dev.aspo.tensor.ops.Arithmetic.add;
import static dev.aspo.tensor.ops.Arithmetic.mul;
import static dev.aspo.tensor.ops.MatMul.matmul;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.ops.Attention;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Embedding;
import dev.aspo.tensor.ops.LayerNorm;
import dev.aspo.tensor.ops.RmsNorm;
import dev.aspo.tensor.ops.Rope;
import dev.aspo.tensor.ops.Unary;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The network of {@code tensor/src/test/python/make_parity_fixture.py}, composed from our ops,
 * against PyTorch's logits, loss and the gradient of every parameter
 * (fixture {@code parity/block.safetensors}):
 *
 * <pre>
 *  ids -> Embedding -> LayerNorm -> q,k,v Linear -> RoPE -> causal GQA attention (+ key padding)
 *      -> o Linear -> (+) -> RMSNorm -> SwiGLU MLP -> (+) -> LayerNorm -> Linear -> GELU -> Linear
 *      -> cross-entropy (mean over targets that are not -100)
 * </pre>
 */
class BlockParityTest {
    static final int B = 2, T = 6, C = 16, V = 11, HQ = 4, HKV = 2, D = 4;
    static final float THETA = 10000f, LN_EPS = 1e-5f, RMS_EPS = 1e-6f;
    static final double TOL = 1e-4;

    @Test
    void logitsLossAndEveryGradientMatchPyTorch() throws Exception {
        Path fixture = Path.of(getClass().getResource("/parity/block.safetensors").toURI());
        Map<String, Tensor> p = new LinkedHashMap<>();
        int[] ids, targets;
        float[] keyMask, expectedLogits, expectedLoss;
        Map<String, float[]> expectedGrads = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensorsFile.open(fixture)) {
            for (String name : f.names()) {
                if (name.contains(".") && !name.startsWith("grad.") && !name.startsWith("input.") && !name.startsWith("expected.")
                        || name.equals("embed")) {
                    p.put(name, f.readFloat(name).requiresGrad(true));
                } else if (name.startsWith("grad.")) {
                    expectedGrads.put(name.substring(5), f.readFloatArray(name));
                }
            }
            ids = f.readLong("input.ids").toIntArray();
            targets = f.readLong("input.targets").toIntArray();
            keyMask = f.readFloatArray("input.key_mask");
            expectedLogits = f.readFloatArray("expected.logits");
            expectedLoss = f.readFloatArray("expected.loss");
        }
        int[] positions = new int[B * T];
        for (int i = 0; i < positions.length; i++) positions[i] = i % T;

        // ---- forward, step for step as the Python script ----
        Tensor x = Embedding.lookup(p.get("embed"), ids, B, T);                         // [B, T, C]
        Tensor h = LayerNorm.apply(x, p.get("ln1.weight"), p.get("ln1.bias"), LN_EPS);
        Tensor q = linear(h, p.get("q.weight"), p.get("q.bias")).reshape(B, T, HQ, D);
        Tensor k = linear(h, p.get("k.weight"), null).reshape(B, T, HKV, D);
        Tensor v = linear(h, p.get("v.weight"), null);
        q = Rope.apply(q, positions, THETA).reshape(B, T, HQ * D);
        k = Rope.apply(k, positions, THETA).reshape(B, T, HKV * D);
        Tensor att = Attention.apply(q, k, v, HQ, HKV, true, keyMask);
        x = add(x, linear(att, p.get("o.weight"), null));
        Tensor r = RmsNorm.apply(x, p.get("rms.weight"), RMS_EPS);
        Tensor ff = mul(Unary.silu(linear(r, p.get("gate.weight"), null)), linear(r, p.get("up.weight"), null));
        x = add(x, linear(ff, p.get("down.weight"), null));
        h = LayerNorm.apply(x, p.get("ln2.weight"), p.get("ln2.bias"), LN_EPS);
        h = Unary.gelu(linear(h, p.get("fc1.weight"), p.get("fc1.bias")));
        Tensor logits = linear(h, p.get("fc2.weight"), p.get("fc2.bias"));            // [B, T, V]
        Tensor loss = CrossEntropy.mean(logits, targets);

        assertClose("logits", expectedLogits, logits.toFloatArray(), TOL);
        assertClose("loss", expectedLoss, loss.toFloatArray(), TOL);

        loss.backward();
        for (var e : expectedGrads.entrySet()) {
            Tensor g = p.get(e.getKey()).grad();
            assertClose("gradient of " + e.getKey(), e.getValue(), g.toFloatArray(), TOL);
        }
        org.junit.jupiter.api.Assertions.assertEquals(p.keySet(), expectedGrads.keySet(), "every parameter has a gradient");
    }

    /** {@code x @ w^T + b}, torch's {@code F.linear}. */
    private static Tensor linear(Tensor x, Tensor w, Tensor b) {
        Tensor y = matmul(x, w, false, true);
        return b == null ? y : add(y, b);
    }
}
