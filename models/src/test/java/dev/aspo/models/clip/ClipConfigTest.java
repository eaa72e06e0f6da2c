package dev.aspo.models.clip;

import static dev.aspo.models.clip.ClipParityTest.resource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** config.json in and out, and one clear error naming the file and the key for each kind of problem. */
class ClipConfigTest {
    @TempDir
    Path tmp;

    @Test
    void readsTheFixtureConfigsAsTransformersWroteThem() throws IOException {
        ClipConfig c = ClipConfig.read(resource("clip/config.json"));
        assertEquals(16, c.projectionDim());
        assertEquals(2.6592, c.logitScaleInitValue());
        ClipTextConfig t = c.textConfig();
        assertEquals(99, t.vocabSize());
        assertEquals(32, t.hiddenSize());
        assertEquals(37, t.intermediateSize());
        assertEquals(16, t.maxPositionEmbeddings());
        assertEquals(50, t.eosTokenId());
        assertEquals(0, t.bosTokenId());
        assertEquals(1, t.padTokenId());
        assertEquals(ClipActivation.QUICK_GELU, t.hiddenAct());
        ClipVisionConfig v = c.visionConfig();
        assertEquals(24, v.hiddenSize());
        assertEquals(3, v.numAttentionHeads());
        assertEquals(16, v.numPatches());
        assertEquals(1e-5, v.layerNormEps());
        assertEquals("5.17.0", c.extra().get("transformers_version").asText(), "unknown keys are kept");

        ClipVisionConfig g = ClipVisionConfig.read(resource("clip_vision_model/config.json"));
        assertEquals(ClipActivation.GELU, g.hiddenAct());
        assertEquals(30, g.imageSize());
        assertEquals(3, g.gridSize());
    }

    @Test
    void writesKeysSortedInHfsLayoutAndKeepsUnknownOnes() throws IOException {
        String src = "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 8, \"intermediate_size\": 16,"
                + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"image_size\": [16, 16], \"patch_size\": 4,"
                + " \"my_key\": {\"a\": [1, 2]}}";
        ClipVisionConfig c = ClipVisionConfig.read(write("v.json", src));
        assertEquals(16, c.imageSize());
        assertEquals(ClipActivation.QUICK_GELU, c.hiddenAct(), "HF's default");
        assertEquals(512, c.projectionDim(), "HF's default");
        Path out = tmp.resolve("out.json");
        ClipJson.writeAtomically(c.toJson(), out);
        String text = Files.readString(out);
        assertTrue(text.startsWith("{\n  \"attention_dropout\": 0.0,\n  \"hidden_act\": \"quick_gelu\",\n"), text);
        assertTrue(text.contains("\"my_key\": {\n    \"a\": [\n      1,\n      2\n    ]\n  }"), text);
        assertEquals(c, ClipVisionConfig.read(out));
    }

    @Test
    void legacyConfigDictKeysOverrideTheSubConfigs() throws IOException {
        ObjectNode json = ClipCheckpointTest.tinyConfig().toJson();
        ((ObjectNode) json.putObject("text_config_dict")).put("eos_token_id", 2);
        ClipConfig c = ClipConfig.fromJson(json, Path.of("config.json"));
        assertEquals(2, c.textConfig().eosTokenId());
        ObjectNode nulls = ClipCheckpointTest.tinyConfig().toJson();
        ((ObjectNode) nulls.get("text_config")).putNull("bos_token_id");
        assertNull(ClipConfig.fromJson(nulls, Path.of("config.json")).textConfig().bosTokenId());
    }

    @Test
    void eachProblemIsOneErrorNamingFileAndKey() throws IOException {
        String good = ClipCheckpointTest.tinyConfig().toJson().toString();
        assertError(good.replace("\"patch_size\":8,", ""), "key vision_config.patch_size is missing");
        assertError(good.replace("\"hidden_act\":\"quick_gelu\"", "\"hidden_act\":\"relu\""),
                "key text_config.hidden_act 'relu' is not supported (supported: quick_gelu, gelu)");
        assertError(good.replace("\"vocab_size\":40", "\"vocab_size\":\"40\""),
                "key text_config.vocab_size must be an integer, got \"40\"");
        assertError(good.replace("\"num_attention_heads\":3", "\"num_attention_heads\":5"),
                "key vision_config.hidden_size 12 is not a multiple of num_attention_heads 5");
        assertError(good.replace("\"eos_token_id\":39", "\"eos_token_id\":[39, 2]"),
                "key text_config.eos_token_id must be an integer, got [39,2]");
        assertError(good.replace("\"model_type\":\"clip\"", "\"model_type\":\"llama\""),
                "key model_type is 'llama', expected 'clip'");
        assertError(good.replace("\"projection_dim\":8", "\"projection_dim\":0"), "key projection_dim must be positive, got 0");
        assertError("{\"model_type\": \"clip\", \"vision_config\": {}}", "key text_config is missing");
        assertError("{\"model_type\": \"clip\", ", "not valid JSON");
        assertError("[1, 2]", "expected a JSON object");
        IOException e = assertThrows(IOException.class, () -> ClipConfig.read(tmp.resolve("absent.json")));
        assertTrue(e.getMessage().endsWith("absent.json: no such file"), e.getMessage());
        assertThrows(IOException.class, () -> ClipVisionConfig.read(write("x.json",
                "{\"model_type\": \"clip_vision_model\", \"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1,"
                        + " \"num_attention_heads\": 2, \"image_size\": [16, 12], \"patch_size\": 4}")));
    }

    @Test
    void badInputsAreNamedClearly() {
        ClipModel m = ClipModel.random(ClipCheckpointTest.tinyConfig(), 1);
        var e = assertThrows(IllegalArgumentException.class, () -> m.imageEmbeds(Tensor.zeros(2, 3, 16, 15)));
        assertEquals("CLIP vision: pixel_values must be [B, 3, 16, 16], got [2, 3, 16, 15]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.textEmbeds(new int[] {1, 40}, 1, 2, null));
        assertEquals("CLIP text: input_ids[0, 1] = 40 is outside the vocabulary [0, 40)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.textEmbeds(new int[9], 1, 9, null));
        assertEquals("CLIP text: sequence length 9 exceeds max_position_embeddings 8", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.textEmbeds(new int[2], 1, 2, new int[] {1, 2}));
        assertEquals("CLIP text: attention_mask[0, 1] = 2, expected 0 or 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClipModel.contrastiveLoss(Tensor.zeros(2, 3)));
        assertTrue(e.getMessage().contains("as many texts as images"), e.getMessage());
    }

    private void assertError(String json, String expected) throws IOException {
        Path f = write("config.json", json);
        IOException e = assertThrows(IOException.class, () -> ClipConfig.read(f));
        assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private Path write(String name, String text) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }
}
