package dev.aspo.models.clip;

import static dev.aspo.models.clip.ClipParityTest.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * save/load identity, HF random initialisation, and the layouts transformers writes.
 *
 * <p>With {@code -Dclip.roundtrip.dir=DIR} the test also saves both fixture models and a random one
 * under DIR for {@code models/src/test/python/check_clip_roundtrip.py}, which loads them in
 * transformers (by hand; CI has no Python).
 */
class ClipCheckpointTest {
    @TempDir
    Path tmp;

    static ClipConfig tinyConfig() {
        return ClipConfig.of(ClipTextConfig.of(40, 16, 24, 2, 2, 8, ClipActivation.QUICK_GELU, 39),
                ClipVisionConfig.of(12, 20, 2, 3, 16, 8, ClipActivation.GELU), 8);
    }

    @Test
    void ourSaveThenOurLoadIsTheIdentity() throws IOException {
        ClipModel a = ClipModel.load(resource("clip"));
        a.save(tmp.resolve("clip"));
        ClipModel b = ClipModel.load(tmp.resolve("clip"));
        assertSameParameters(a, b);
        assertEquals(a.config(), b.config(), "every key read back the same (unknown keys included)");
        assertEquals(a.config().toJson(), ClipConfig.read(tmp.resolve("clip/config.json")).toJson());

        ClipVisionModel v = ClipVisionModel.load(resource("clip_vision_model"));
        v.save(tmp.resolve("vision"));
        ClipVisionModel w = ClipVisionModel.load(tmp.resolve("vision"));
        assertSameParameters(v, w);
        assertEquals(v.config(), w.config());
        try (SafeTensorsFile f = SafeTensorsFile.open(tmp.resolve("vision").resolve(Weights.FILE))) {
            assertTrue(f.names().stream().allMatch(n -> n.startsWith("vision_model.")), "saved under vision_model.*");
        }
        String json = Files.readString(tmp.resolve("vision/config.json"));
        assertTrue(json.contains("\"architectures\": [\n    \"CLIPVisionModel\"\n  ]"), json);
        assertTrue(json.contains("\"model_type\": \"clip_vision_model\""), json);
        assertTrue(json.contains("\"dtype\": \"float32\""), json);
    }

    @Test
    void randomInitHasHfDistributionsAndIsReproducible() throws IOException {
        ClipConfig c = tinyConfig();
        ClipModel a = ClipModel.random(c, 7), b = ClipModel.random(c, 7), other = ClipModel.random(c, 8);
        assertSameParameters(a, b);
        assertNotEquals(List.of(a.textModel.embeddings.tokenEmbedding.weight.toFloatArray()[0]),
                List.of(other.textModel.embeddings.tokenEmbedding.weight.toFloatArray()[0]));
        assertEquals(2.6592f, a.logitScale.item());
        assertArrayEquals(new int[0], a.logitScale.shape(), "logit_scale is a scalar as in HF");
        var l0 = a.visionModel.layers.get(0);
        assertStd(l0.mlp.fc1.weight, Math.pow(2 * 12, -0.5));
        assertStd(l0.mlp.fc2.weight, Math.pow(12, -0.5) * Math.pow(4, -0.5));
        assertStd(l0.selfAttn.qProj.weight, Math.pow(12, -0.5) * Math.pow(4, -0.5));
        assertStd(l0.selfAttn.outProj.weight, Math.pow(12, -0.5));
        assertStd(a.textModel.embeddings.tokenEmbedding.weight, 0.02);
        assertStd(a.visionModel.embeddings.patchWeight, 0.02);
        assertStd(a.visualProjection.weight, Math.pow(12, -0.5));
        assertStd(a.textProjection.weight, Math.pow(16, -0.5));
        for (float v : l0.layerNorm1.weight.toFloatArray()) assertEquals(1f, v);
        for (float v : l0.selfAttn.qProj.bias.toFloatArray()) assertEquals(0f, v);

        a.save(tmp.resolve("r"));
        ClipModel back = ClipModel.load(tmp.resolve("r"));
        assertSameParameters(a, back);
        Tensor pixels = Tensor.randn(new Random(1), 1f, 2, 3, 16, 16);
        int[] ids = {0, 5, 39, 1, 0, 7, 8, 39};
        float[] x = a.forward(ids, 2, 4, null, pixels, true).logitsPerImage().toFloatArray();
        float[] y = back.forward(ids, 2, 4, null, pixels, true).logitsPerImage().toFloatArray();
        assertArrayEquals(x, y);
    }

    /** The sample standard deviation of a zero-mean draw, within its sampling error (n >= 240 here). */
    private static void assertStd(Tensor t, double expected) {
        float[] v = t.toFloatArray();
        double s = 0;
        for (float f : v) s += (double) f * f;
        double std = Math.sqrt(s / v.length);
        assertEquals(expected, std, 4 * expected / Math.sqrt(2.0 * v.length), "std of a tensor of " + v.length);
    }

    @Test
    void visionModelLoadsBothLayoutsAndTheVisionTowerOfAClipDirectory() throws IOException {
        ClipVisionModel fromClip = ClipVisionModel.load(resource("clip"));
        ClipModel clip = ClipModel.load(resource("clip"));
        for (var e : fromClip.namedParameters().entrySet()) {
            assertArrayEquals(clip.namedParameters().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), e.getKey());
        }
        // 5.17 layout (no prefix): a fixture; 4.x layout (prefix): what we write
        ClipVisionModel unprefixed = ClipVisionModel.load(resource("clip_vision_model"));
        unprefixed.save(tmp.resolve("prefixed"));
        assertSameParameters(unprefixed, ClipVisionModel.load(tmp.resolve("prefixed")));
    }

    @Test
    void aCheckpointThatDoesNotFitFailsWithOneMessage() throws IOException {
        ClipModel.random(tinyConfig(), 1).save(tmp.resolve("m"));
        ClipConfig c = tinyConfig();
        ClipConfig wider = ClipConfig.of(c.textConfig(), c.visionConfig(), 9);
        ObjectNode json = wider.toJson();
        ClipJson.writeAtomically(json, tmp.resolve("m/config.json"));
        IOException e = assertThrows(IOException.class, () -> ClipModel.load(tmp.resolve("m")));
        assertTrue(e.getMessage().contains("wrong shape [text_projection.weight [8, 16] (model: [9, 16])"), e.getMessage());
        assertTrue(e.getMessage().contains("visual_projection.weight"), e.getMessage());

        IOException none = assertThrows(IOException.class, () -> ClipModel.load(tmp.resolve("nothing")));
        assertTrue(none.getMessage().contains("nothing: not a directory"), none.getMessage());
    }

    @Test
    void writesDirectoriesForTransformersWhenAsked() throws IOException {
        String out = System.getProperty("clip.roundtrip.dir");
        if (out == null) return;        // by hand only: see the class comment
        Path dir = Path.of(out);
        ClipModel.load(resource("clip")).save(dir.resolve("clip"));
        ClipVisionModel.load(resource("clip_vision_model")).save(dir.resolve("clip_vision_model"));
        ClipModel.random(tinyConfig(), 3).save(dir.resolve("random_clip"));
    }

    static void assertSameParameters(Module a, Module b) {
        Map<String, Tensor> pa = a.namedParameters(), pb = b.namedParameters();
        assertEquals(new TreeSet<>(pa.keySet()), new TreeSet<>(pb.keySet()));
        for (var e : pa.entrySet()) {
            assertArrayEquals(e.getValue().shape(), pb.get(e.getKey()).shape(), e.getKey());
            assertArrayEquals(e.getValue().toFloatArray(), pb.get(e.getKey()).toFloatArray(), e.getKey());
        }
    }
}
