package dev.aspo.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.hf.Weights;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our save then our load is the identity; names and init follow transformers. */
class LlamaCheckpointTest {
    @TempDir
    Path tmp;

    static final LlamaConfig TIED = LlamaConfig.builder().vocabSize(20).hiddenSize(8).intermediateSize(12).numHiddenLayers(2)
            .numAttentionHeads(2).numKeyValueHeads(1).tieWordEmbeddings(true).padTokenId(3).build();

    @Test
    void saveThenLoadIsTheIdentity() throws IOException {
        for (String name : Fixtures.CASES) {
            LlamaForCausalLM a = LlamaForCausalLM.load(Fixtures.dir(name));
            Path out = tmp.resolve(name);
            a.save(out);
            LlamaForCausalLM b = LlamaForCausalLM.load(out);
            assertEquals(a.namedParameters().keySet(), b.namedParameters().keySet());
            for (var e : a.namedParameters().entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), b.namedParameters().get(e.getKey()).toFloatArray(), name + " " + e.getKey());
            }
            assertEquals(a.config.toJson(), b.config.toJson());
            try (var g = Autograd.noGrad()) {
                int[] ids = {1, 5, 7, 2, 9, 4};
                assertArrayEquals(a.forward(ids, 2, 3, null).toFloatArray(), b.forward(ids, 2, 3, null).toFloatArray());
            }
            try (Stream<Path> files = Files.list(out)) {
                assertEquals(List.of("config.json", "model.safetensors"), files.map(p -> p.getFileName().toString()).sorted().toList());
            }
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(Fixtures.CASES.length, left.count(), "no temporary directories left behind");
        }
    }

    @Test
    void savingOverAnExistingCheckpointReplacesIt() throws IOException {
        Path out = tmp.resolve("ckpt");
        LlamaForCausalLM.random(TIED, 1).save(out);
        LlamaForCausalLM second = LlamaForCausalLM.random(TIED, 2);
        second.save(out);
        assertArrayEquals(second.model.norm.weight.toFloatArray(), LlamaForCausalLM.load(out).model.norm.weight.toFloatArray());
        assertArrayEquals(second.model.embedTokens.weight.toFloatArray(),
                LlamaForCausalLM.load(out).model.embedTokens.weight.toFloatArray());
    }

    @Test
    void aSavedCheckpointHasTheUsualPermissions() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        Path refDir = Files.createDirectory(tmp.resolve("ref"));
        Path refFile = Files.writeString(refDir.resolve("file"), "x");
        Path out = tmp.resolve("perm");
        LlamaForCausalLM.random(TIED, 1).save(out);
        assertEquals(Files.getPosixFilePermissions(refDir), Files.getPosixFilePermissions(out), "not owner-only");
        assertEquals(Files.getPosixFilePermissions(refFile), Files.getPosixFilePermissions(out.resolve("config.json")));
        assertEquals(Files.getPosixFilePermissions(refFile), Files.getPosixFilePermissions(out.resolve(Weights.FILE)));
    }

    @Test
    void tiedModelsStoreTheTableOnceAndSkipARedundantHead() throws IOException {
        LlamaForCausalLM m = LlamaForCausalLM.random(TIED, 4);
        assertFalse(m.namedParameters().containsKey("lm_head.weight"));
        Path out = tmp.resolve("tied");
        m.save(out);
        try (SafeTensorsFile f = SafeTensorsFile.open(out.resolve(Weights.FILE))) {
            assertFalse(f.contains("lm_head.weight"));
            assertEquals(m.namedParameters().size(), f.names().size());
            assertEquals("pt", f.metadata().get("format"));
        }
        // An older export that also stores lm_head.weight (and a RoPE buffer) still loads.
        var w = new dev.aspo.tensor.io.SafeTensorsWriter();
        for (var e : m.namedParameters().entrySet()) w.put(e.getKey(), e.getValue());
        w.put("lm_head.weight", m.model.embedTokens.weight);
        w.put("model.rotary_emb.inv_freq", new float[2], 2);
        w.write(out.resolve(Weights.FILE));
        assertArrayEquals(m.model.embedTokens.weight.toFloatArray(), LlamaForCausalLM.load(out).model.embedTokens.weight.toFloatArray());
    }

    @Test
    void aMismatchedCheckpointIsOneErrorNamingTheTensors() throws IOException {
        Path out = tmp.resolve("bad");
        LlamaForCausalLM.random(TIED, 1).save(out);
        LlamaConfig untied = TIED.toBuilder().tieWordEmbeddings(false).intermediateSize(10).build();
        untied.save(out);
        IOException e = assertThrows(IOException.class, () -> LlamaForCausalLM.load(out));
        assertTrue(e.getMessage().contains("missing [lm_head.weight]"), e.getMessage());
        assertTrue(e.getMessage().contains("model.layers.0.mlp.down_proj.weight [8, 12] (model: [8, 10])"), e.getMessage());
    }

    @Test
    void parameterNamesAreTransformersNames() {
        LlamaConfig c = TIED.toBuilder().tieWordEmbeddings(false).attentionBias(true).numHiddenLayers(1).build();
        Map<String, Tensor> p = LlamaForCausalLM.random(c, 1).namedParameters();
        assertEquals(List.of("model.embed_tokens.weight",
                "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias",
                "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.k_proj.bias",
                "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.v_proj.bias",
                "model.layers.0.self_attn.o_proj.weight", "model.layers.0.self_attn.o_proj.bias",
                "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
                "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
                "model.norm.weight", "lm_head.weight"), List.copyOf(p.keySet()));
        assertArrayEquals(new int[] {8, 8}, p.get("model.layers.0.self_attn.q_proj.weight").shape());
        assertArrayEquals(new int[] {4, 8}, p.get("model.layers.0.self_attn.k_proj.weight").shape());
        assertArrayEquals(new int[] {12, 8}, p.get("model.layers.0.mlp.gate_proj.weight").shape());
        assertArrayEquals(new int[] {8, 12}, p.get("model.layers.0.mlp.down_proj.weight").shape());
        assertArrayEquals(new int[] {20, 8}, p.get("lm_head.weight").shape());
    }

    @Test
    void initIsTransformersInitAndDeterministic() {
        LlamaConfig c = TIED.toBuilder().vocabSize(400).hiddenSize(64).intermediateSize(96).attentionBias(true)
                .initializerRange(0.05).build();
        LlamaForCausalLM a = LlamaForCausalLM.random(c, 17), b = LlamaForCausalLM.random(c, 17);
        for (var e : a.namedParameters().entrySet()) {
            float[] v = e.getValue().toFloatArray();
            assertArrayEquals(v, b.namedParameters().get(e.getKey()).toFloatArray(), "same seed, same weights");
            String n = e.getKey();
            if (n.endsWith("norm.weight")) {
                for (float x : v) assertEquals(1f, x, n);
            } else if (n.endsWith(".bias")) {
                for (float x : v) assertEquals(0f, x, n);
            } else {
                double sum = 0, sq = 0;
                int count = 0;
                for (int i = 0; i < v.length; i++) {
                    if (n.equals("model.embed_tokens.weight") && i / 64 == 3) continue;      // the padding row
                    sum += v[i];
                    sq += v[i] * (double) v[i];
                    count++;
                }
                double mean = sum / count, std = Math.sqrt(sq / count - mean * mean);
                assertEquals(0, mean, 4 * 0.05 / Math.sqrt(count), n + " mean");
                assertEquals(0.05, std, 0.05 * 6 / Math.sqrt(2 * count), n + " std");
            }
        }
        float[] embed = a.model.embedTokens.weight.toFloatArray();
        for (int j = 0; j < 64; j++) assertEquals(0f, embed[3 * 64 + j], "padding row is zero");
        assertFalse(java.util.Arrays.equals(embed, LlamaForCausalLM.random(c, 18).model.embedTokens.weight.toFloatArray()));
    }
}
