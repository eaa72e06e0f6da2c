package dev.aspo.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaConfigTest {
    @TempDir
    Path dir;

    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void readsWhatTransformersWrote() throws IOException {
        LlamaConfig c = LlamaConfig.load(Fixtures.dir("right_padding"));
        assertEquals(48, c.vocabSize);
        assertEquals(32, c.hiddenSize);
        assertEquals(40, c.intermediateSize);
        assertEquals(2, c.numHiddenLayers);
        assertEquals(4, c.numAttentionHeads);
        assertEquals(2, c.numKeyValueHeads);
        assertEquals(8, c.headDim);
        assertEquals(1e-5, c.rmsNormEps);
        assertEquals(500000.0, c.ropeTheta);
        assertTrue(c.attentionBias && c.mlpBias && !c.tieWordEmbeddings);
        assertEquals(0, c.padTokenId);
        assertEquals(1, c.bosTokenId);
        assertArrayEquals(new int[] {2}, c.eosTokenIds());
        assertEquals(128, c.maxPositionEmbeddings);
        LlamaConfig mqa = LlamaConfig.load(Fixtures.dir("ignored_labels").resolve("config.json"));
        assertEquals(16, mqa.headDim);
        assertEquals(1, mqa.numKeyValueHeads);
        assertNull(mqa.padTokenId);
    }

    @Test
    void writesTransformersSchemaAndReadsItBack() throws IOException {
        ObjectNode hf = (ObjectNode) JSON.readTree(Fixtures.dir("right_padding").resolve("config.json").toFile());
        LlamaConfig c = LlamaConfig.fromJson(hf, "right_padding");
        c.save(dir);
        ObjectNode ours = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals(hf, ours, "every key and value as transformers wrote them");
        String text = Files.readString(dir.resolve("config.json"));
        assertTrue(text.startsWith("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"attention_bias\": true,"), text);
        LlamaConfig back = LlamaConfig.load(dir);
        assertEquals(c.toString(), back.toString());
    }

    @Test
    void nestsAsTransformersWritesLlavasTextConfig() throws IOException {
        // text_config of a LlavaForConditionalGeneration saved by transformers 5.17.0
        String textConfig = "{\"attention_bias\": false, \"attention_dropout\": 0.0, \"bos_token_id\": 1, \"eos_token_id\": 2,"
                + " \"head_dim\": 8, \"hidden_act\": \"silu\", \"hidden_size\": 32, \"initializer_range\": 0.02,"
                + " \"intermediate_size\": 48, \"max_position_embeddings\": 2048, \"mlp_bias\": false, \"model_type\": \"llama\","
                + " \"num_attention_heads\": 4, \"num_hidden_layers\": 1, \"num_key_value_heads\": 2, \"pad_token_id\": null,"
                + " \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-06, \"rope_parameters\": {\"rope_theta\": 10000.0,"
                + " \"rope_type\": \"default\"}, \"tie_word_embeddings\": false, \"use_cache\": true, \"vocab_size\": 64}";
        var node = JSON.readTree(textConfig);
        LlamaConfig c = LlamaConfig.fromJson(node, "llava/config.json (text_config)");
        assertEquals(node, c.toSubConfigJson());
        assertEquals("float32", c.toJson().get("dtype").asText());
    }

    @Test
    void legacyRopeKeysAndDefaults() {
        LlamaConfig top = parse("{\"model_type\":\"llama\",\"hidden_size\":16,\"num_attention_heads\":2,\"rope_theta\":1234.0}");
        assertEquals(1234.0, top.ropeTheta);
        assertEquals(8, top.headDim);
        assertEquals(2, top.numKeyValueHeads, "kv heads default to the query heads");
        assertEquals(32000, top.vocabSize, "absent keys take transformers' defaults");
        assertNull(top.padTokenId);
        assertEquals(1, top.bosTokenId);
        LlamaConfig scaling = parse("{\"rope_scaling\":{\"type\":\"default\",\"rope_theta\":99.0},\"rope_theta\":5.0}");
        assertEquals(99.0, scaling.ropeTheta);
        LlamaConfig inherit = parse("{\"rope_parameters\":{\"rope_type\":\"default\"},\"rope_theta\":7.0}");
        assertEquals(7.0, inherit.ropeTheta);
        LlamaConfig eosList = parse("{\"eos_token_id\":[2,5],\"bos_token_id\":null}");
        assertArrayEquals(new int[] {2, 5}, eosList.eosTokenIds());
        assertNull(eosList.bosTokenId);
        assertTrue(eosList.toJson().get("eos_token_id").isArray());
        LlamaConfig torchDtype = parse("{\"torch_dtype\":\"bfloat16\",\"pretraining_tp\":2,\"custom\":{\"a\":1}}");
        assertEquals("bfloat16", torchDtype.dtype);
        assertEquals("float32", torchDtype.toJson().get("dtype").asText(), "we always save F32");
        assertEquals(2, torchDtype.toJson().get("pretraining_tp").asInt(), "unknown keys are kept");
        assertEquals(1, torchDtype.toJson().get("custom").get("a").asInt());
        assertTrue(torchDtype.toJson().get("torch_dtype") == null);
    }

    @Test
    void badValuesNameTheFileAndTheKey() throws IOException {
        assertBad("{\"model_type\":\"llama\",\"hidden_size\":\"32\"}", "\"hidden_size\" must be an integer, got \"32\"");
        assertBad("{\"model_type\":\"llama\",\"hidden_size\":32.5}", "\"hidden_size\" must be an integer, got 32.5");
        assertBad("{\"model_type\":\"clip\"}", "\"model_type\" is \"clip\", expected \"llama\"");
        assertBad("{}", "\"model_type\" is missing");
        assertBad("{\"model_type\":\"llama\",\"hidden_act\":\"gelu\"}", "\"hidden_act\" is \"gelu\"; only \"silu\"");
        assertBad("{\"model_type\":\"llama\",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0}}",
                "\"rope_scaling\" has rope_type \"llama3\"; only \"default\"");
        assertBad("{\"model_type\":\"llama\",\"rope_parameters\":{\"type\":\"linear\",\"factor\":2.0}}",
                "\"rope_parameters\" has rope_type \"linear\"");
        assertBad("{\"model_type\":\"llama\",\"hidden_size\":30,\"num_attention_heads\":4}",
                "\"hidden_size\" (30) must be a multiple of \"num_attention_heads\" (4)");
        assertBad("{\"model_type\":\"llama\",\"num_key_value_heads\":3}", "\"num_attention_heads\" (32) must be a multiple of \"num_key_value_heads\" (3)");
        assertBad("{\"model_type\":\"llama\",\"num_hidden_layers\":0}", "\"num_hidden_layers\" must be a positive integer, got 0");
        assertBad("{\"model_type\":\"llama\",\"tie_word_embeddings\":1}", "\"tie_word_embeddings\" must be true or false, got 1");
        assertBad("{\"model_type\":\"llama\",\"eos_token_id\":[2,\"x\"]}", "\"eos_token_id\" must be an integer or a list of integers");
        assertBad("{\"model_type\":\"llama\",\"vocab_size\":10,\"pad_token_id\":10}", "\"pad_token_id\" 10 is outside the vocabulary");
        assertBad("{\"model_type\":\"llama\",\"head_dim\":7,\"hidden_size\":28,\"num_attention_heads\":4}", "\"head_dim\" (7) must be even");
        Path broken = dir.resolve("config.json");
        Files.writeString(broken, "{\"model_type\": \"llama\",");
        IOException e = assertThrows(IOException.class, () -> LlamaConfig.load(dir));
        assertTrue(e.getMessage().startsWith(broken + ": not valid JSON"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> LlamaConfig.load(dir.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
    }

    private void assertBad(String json, String message) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, json);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.load(dir), json);
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static LlamaConfig parse(String json) {
        try {
            return LlamaConfig.fromJson(JSON.readTree(json), "test");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
