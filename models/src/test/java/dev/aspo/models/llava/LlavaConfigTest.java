package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llama.LlamaConfig;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** config.json read as transformers reads it (defaults, aliases, the tie rule) and every bad key one error. */
class LlavaConfigTest {
    /** A tiny LLaVA (vision 16 wide, 2 layers, 16 patches; text vocab 40, 16 wide) as a builder. */
    static LlavaConfig.Builder tiny() {
        ClipVisionConfig v = ClipVisionConfig.of(16, 24, 2, 2, 32, 8, ClipActivation.QUICK_GELU);
        LlamaConfig t = LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(24).numHiddenLayers(2)
                .numAttentionHeads(4).numKeyValueHeads(2).initializerRange(0.2).build();
        return LlavaConfig.builder(v, t).imageTokenIndex(39);
    }

    static LlavaConfig read(String name) throws Exception {
        return LlavaConfig.load(LlavaFixtures.dir(name));
    }

    @Test
    void readsTheFilesTransformersWrote() throws Exception {
        LlavaConfig a = read("gqa_untied");
        assertEquals(63, a.imageTokenIndex);
        assertArrayEquals(new int[] {-2}, a.visionFeatureLayers());
        assertArrayEquals(new int[] {2}, a.visionFeatureLayerIndices());
        assertEquals("default", a.visionFeatureSelectStrategy);
        assertEquals(16, a.featuresPerImage());
        assertEquals(2, a.textConfig.numKeyValueHeads);
        assertFalse(a.tieWordEmbeddings);
        assertTrue(a.multimodalProjectorBias);

        LlavaConfig b = read("tied_full_layer1");
        assertTrue(b.tieWordEmbeddings && b.textConfig.tieWordEmbeddings);
        assertArrayEquals(new int[] {1}, b.visionFeatureLayers());
        assertEquals(17, b.featuresPerImage(), "full keeps the class token");

        LlavaConfig c = read("padding_layers");
        assertArrayEquals(new int[] {0, -2}, c.visionFeatureLayers());
        assertArrayEquals(new int[] {0, 2}, c.visionFeatureLayerIndices());
        assertEquals(32, c.projectorInputSize());
        assertFalse(c.multimodalProjectorBias);
        assertTrue(c.toJson().get("vision_feature_layer").isArray(), "a list is written back as a list");
        assertTrue(a.toJson().get("vision_feature_layer").isInt());
    }

    @Test
    void hubConfigsTakeTransformersDefaults() throws Exception {
        LlavaConfig h = read("hub_layout");
        assertEquals(576, h.imageSeqLength);
        assertEquals("gelu", h.projectorHiddenAct);
        assertTrue(h.multimodalProjectorBias);
        assertEquals(1e-5, h.textConfig.rmsNormEps);
        assertEquals(ClipActivation.QUICK_GELU, h.visionConfig.hiddenAct());
        assertEquals(0, h.toJson().get("pad_token_id").intValue(), "kept");
    }

    static ObjectNode json(String name) throws Exception {
        return HfJson.readObject(LlavaFixtures.dir(name).resolve("config.json"));
    }

    static LlavaConfig parse(ObjectNode o) throws Exception {
        return LlavaConfig.fromJson(o, Path.of("m/config.json"));
    }

    @Test
    void imageTokenIdIsAnAliasAndTheTextConfigCanTieTheHead() throws Exception {
        ObjectNode o = json("gqa_untied");
        o.remove("image_token_index");
        o.put("image_token_id", 7);
        assertEquals(7, parse(o).imageTokenIndex);
        assertEquals(7, parse(o).toJson().get("image_token_index").intValue());

        o = json("gqa_untied");
        ((ObjectNode) o.get("text_config")).put("tie_word_embeddings", true);
        assertTrue(parse(o).tieWordEmbeddings, "LlavaConfig forwards the text config's tie");
        o = json("gqa_untied");
        o.put("tie_word_embeddings", true);
        assertTrue(parse(o).textConfig.tieWordEmbeddings, "the top-level tie reaches the language model");
    }

    @Test
    void anAbsentVisionConfigIsLlava15sTower() throws Exception {
        ObjectNode o = json("gqa_untied");
        o.remove("vision_config");
        o.remove("text_config");
        LlavaConfig c = parse(o);
        assertEquals(1024, c.visionConfig.hiddenSize());
        assertEquals(24, c.visionConfig.numHiddenLayers());
        assertEquals(576, c.featuresPerImage(), "24 x 24 patches of 14 in 336");
        assertEquals(4096, c.textConfig.hiddenSize, "Llama's defaults");
    }

    static void assertBad(Consumer<ObjectNode> edit, String... parts) throws Exception {
        ObjectNode o = json("gqa_untied");
        edit.accept(o);
        Exception e = assertThrows(Exception.class, () -> parse(o));
        for (String p : parts) assertTrue(e.getMessage().contains(p), e.getMessage());
        assertTrue(e.getMessage().startsWith("m/config.json") && !e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void badKeysAreOneErrorNamingFileAndKey() throws Exception {
        assertBad(o -> o.put("model_type", "llava_next"), "\"model_type\" is \"llava_next\"");
        assertBad(o -> o.put("vision_feature_select_strategy", "cls"), "vision_feature_select_strategy", "\"cls\"");
        assertBad(o -> o.put("vision_feature_layer", 4), "vision_feature_layer", "outside [-4, 4)");
        assertBad(o -> o.put("vision_feature_layer", -5), "vision_feature_layer", "-5");
        assertBad(o -> o.putArray("vision_feature_layer").add(-1).add("x"), "vision_feature_layer", "list of integers");
        assertBad(o -> o.putArray("vision_feature_layer"), "vision_feature_layer", "empty");
        assertBad(o -> o.put("projector_hidden_act", "mish"), "projector_hidden_act", "mish");
        assertBad(o -> o.put("vision_config", 3), "\"vision_config\" must be an object");
        assertBad(o -> ((ObjectNode) o.get("vision_config")).put("model_type", "siglip_vision_model"),
                "vision_config.model_type", "siglip_vision_model");
        assertBad(o -> ((ObjectNode) o.get("text_config")).put("model_type", "mistral"), "text_config", "\"mistral\"");
        assertBad(o -> ((ObjectNode) o.get("text_config")).put("hidden_size", "x"), "text_config", "hidden_size");
        assertBad(o -> o.put("image_token_index", 1.5), "image_token_index");
    }

    @Test
    void builderValidates() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tiny().visionFeatureSelectStrategy("patch").build());
        assertTrue(e.getMessage().contains("\"patch\""), e.getMessage());
        assertEquals(17, tiny().visionFeatureSelectStrategy("full").build().featuresPerImage());
        assertEquals(48, tiny().visionFeatureLayers(0, 1, -1).build().projectorInputSize());
    }
}
