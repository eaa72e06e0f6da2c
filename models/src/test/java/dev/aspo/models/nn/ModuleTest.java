package dev.aspo.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.hf.Weights;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModuleTest {
    /** Two layers under HF-style names. */
    static final class Tiny extends Module {
        final Linear up = child("mlp.up", new Linear(3, 4, true));
        final RmsNorm norm = child("norm", new RmsNorm(4, 1e-6f));
    }

    @TempDir
    Path dir;

    @Test
    void namesFollowTheTreeInRegistrationOrder() {
        assertEquals(List.of("mlp.up.weight", "mlp.up.bias", "norm.weight"), List.copyOf(new Tiny().namedParameters().keySet()));
        assertEquals(12 + 4 + 4, new Tiny().parameterCount());
    }

    @Test
    void modulesAreListedParentsFirstUnderTheNamesTheyWereRegisteredWith() {
        Tiny t = new Tiny();
        assertEquals(List.of("mlp.up", "norm"), List.copyOf(t.namedModules().keySet()));
        assertTrue(t.namedModules().get("mlp.up") == t.up);
        assertEquals(List.of("weight", "bias"), List.copyOf(t.up.ownParameters().keySet()));
        assertTrue(t.ownParameters().isEmpty());
    }

    @Test
    void anAdapterOnALinearTurnsItsInputAndOutputIntoTheResultAndLeavesTheParametersAlone() {
        Tiny t = new Tiny();
        t.copyFrom("mlp.up.weight", Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 4, 3));
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 3), ones = Tensor.full(1f, 4, 3);
        t.up.setAdapter((in, y) -> Arithmetic.add(y, MatMul.matmul(in, ones, false, true)));    // + sum(x) everywhere
        assertArrayEquals(new float[] {7, 8, 9, 12}, t.up.forward(x).toFloatArray());
        assertEquals(List.of("mlp.up.weight", "mlp.up.bias", "norm.weight"), List.copyOf(t.namedParameters().keySet()));
        t.up.setAdapter(null);
        assertArrayEquals(new float[] {1, 2, 3, 6}, t.up.forward(x).toFloatArray());
    }

    @Test
    void insideMatricesInNewMatricesAreFrozenSixteenBitZerosAndVectorsStayFloat32() {
        Tiny half;
        try (var s = Module.matricesIn(Precision.BFLOAT16)) {
            half = new Tiny();
        }
        assertEquals(Precision.BFLOAT16, half.up.weight.precision());
        assertEquals(false, half.up.weight.requiresGrad());
        assertArrayEquals(new float[12], half.up.weight.toFloatArray());
        assertEquals(Precision.FLOAT32, half.up.bias.precision());
        assertTrue(half.up.bias.requiresGrad() && half.norm.weight.requiresGrad());
        assertEquals(12 * 2 + 4 * 4 + 4 * 4, half.parameterBytes());
        assertEquals(Precision.FLOAT32, new Tiny().up.weight.precision(), "the scope closed");
    }

    @Test
    void aSixteenBitParameterLoadsRoundedAndKeepsItsPrecision() throws IOException {
        Tiny a = new Tiny();
        a.copyFrom("mlp.up.weight", Tensor.of(new float[] {1.00390625f, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4, 3));
        Path f = dir.resolve("tiny.safetensors");
        Weights.save(a, f, Function.identity());
        Tiny b = new Tiny();
        b.toDtype(Precision.BFLOAT16, name -> true);
        Weights.load(b, f, Function.identity());
        assertEquals(Precision.BFLOAT16, b.up.weight.precision());
        assertEquals(1f, b.up.weight.toFloatArray()[0], "1 + 2^-8 is a tie between 1 and 1 + 2^-7 in bfloat16: even, 1");
        assertEquals(12f, b.up.weight.toFloatArray()[11]);
    }

    @Test
    void saveThenLoadRestoresEveryValueUnderMappedNames() throws IOException {
        Tiny a = new Tiny();
        a.copyFrom("mlp.up.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 4, 3));
        a.copyFrom("mlp.up.bias", Tensor.of(new float[] {-1, -2, -3, -4}, 4));
        Path f = dir.resolve(Weights.FILE);
        Weights.save(a, f, n -> "model." + n);
        Tiny b = new Tiny();
        Tensor before = b.up.weight;
        Weights.load(b, dir, n -> n.substring("model.".length()));
        assertArrayEquals(a.up.weight.toFloatArray(), b.up.weight.toFloatArray());
        assertArrayEquals(new float[] {-1, -2, -3, -4}, b.up.bias.toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1, 1}, b.norm.weight.toFloatArray());
        assertTrue(before == b.up.weight, "loading keeps the parameter tensors");
    }

    @Test
    void oneErrorListsMissingUnexpectedAndMisShapedTensors() throws IOException {
        Path f = dir.resolve("bad.safetensors");
        new SafeTensorsWriter()
                .put("mlp.up.weight", new float[6], 2, 3)
                .put("extra.weight", new float[1], 1)
                .put("rotary_emb.inv_freq", new float[2], 2)
                .write(f);
        Function<String, String> map = n -> n.startsWith("rotary_emb") ? null : n;
        IOException e = assertThrows(IOException.class, () -> Weights.load(new Tiny(), f, map));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString()), m);
        assertTrue(m.contains("missing [mlp.up.bias, norm.weight]"), m);
        assertTrue(m.contains("unexpected [extra.weight]"), m);
        assertTrue(m.contains("wrong shape [mlp.up.weight [2, 3] (model: [4, 3])]"), m);
        assertTrue(!m.contains("rotary_emb"), m);
    }

    @Test
    void linearIsXTimesWTransposedPlusBias() {
        Tiny t = new Tiny();
        t.copyFrom("mlp.up.weight", Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, 4, 3));
        t.copyFrom("mlp.up.bias", Tensor.of(new float[] {0, 0, 0, 10}, 4));
        float[] y = t.up.forward(Tensor.of(new float[] {1, 2, 3}, 1, 3)).toFloatArray();
        assertArrayEquals(new float[] {1, 2, 3, 16}, y);
        assertTrue(Files.exists(dir));
    }
}
