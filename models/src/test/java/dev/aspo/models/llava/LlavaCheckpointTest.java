package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.hf.HfJson;
import dev.aspo.models.hf.Weights;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints: our save writes what transformers 5.17's {@code save_pretrained} writes (tensor
 * names and config.json, compared with the fixtures it saved), save then load is the identity,
 * and every name layout of {@link LlavaLayout} loads while a mix is one error.
 */
class LlavaCheckpointTest {
    @TempDir
    Path tmp;

    static TreeSet<String> tensorNames(Path file) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            return new TreeSet<>(f.names());
        }
    }

    static void assertSameParameters(LlavaForConditionalGeneration a, LlavaForConditionalGeneration b, String what) {
        assertEquals(a.namedParameters().keySet(), b.namedParameters().keySet(), what);
        for (var e : a.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), b.namedParameters().get(e.getKey()).toFloatArray(), what + " " + e.getKey());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "tied_full_layer1", "padding_layers", "generate"})
    void saveWritesExactlyWhatTransformersSaved(String name) throws IOException {
        Path src = LlavaFixtures.dir(name), out = tmp.resolve(name);
        LlavaForConditionalGeneration.load(src).save(out);
        assertEquals(tensorNames(src.resolve(Weights.FILE)), tensorNames(out.resolve(Weights.FILE)), "tensor names");
        assertEquals(HfJson.readObject(src.resolve("config.json")), HfJson.readObject(out.resolve("config.json")), "config.json");
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("config.json", "model.safetensors"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void saveThenLoadIsTheIdentity() throws IOException {
        for (String name : LlavaFixtures.PARITY_CASES) {
            LlavaForConditionalGeneration a = LlavaForConditionalGeneration.load(LlavaFixtures.dir(name));
            Path out = tmp.resolve(name);
            a.save(out);
            LlavaForConditionalGeneration b = LlavaForConditionalGeneration.load(out);
            assertSameParameters(a, b, name);
            assertEquals(a.config.toJson(), b.config.toJson(), name);
        }
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(LlavaFixtures.PARITY_CASES.length, left.count(), "no temporary directories left behind");
        }
    }

    @Test
    void theHubLayoutIsSavedInTheLayoutOfTransformers517() throws IOException {
        Path out = tmp.resolve("hub");
        LlavaForConditionalGeneration.load(LlavaFixtures.dir("hub_layout")).save(out);
        // hub_layout and gqa_untied have the same architecture; gqa_untied was saved by transformers 5.17
        assertEquals(tensorNames(LlavaFixtures.dir("gqa_untied").resolve(Weights.FILE)), tensorNames(out.resolve(Weights.FILE)));
        var json = HfJson.readObject(out.resolve("config.json"));
        assertEquals("float32", json.get("dtype").textValue());
        assertTrue(!json.has("torch_dtype") && !json.get("text_config").has("torch_dtype"), json.toString());
        assertEquals(-100, json.get("ignore_index").intValue(), "unknown keys are kept");
        assertEquals(63, json.get("image_token_index").intValue());
    }

    @Test
    void savingOverAnExistingCheckpointReplacesIt() throws IOException {
        LlavaConfig c = LlavaConfigTest.tiny().build();
        Path out = tmp.resolve("ckpt");
        LlavaForConditionalGeneration.random(c, 1).save(out);
        LlavaForConditionalGeneration second = LlavaForConditionalGeneration.random(c, 2);
        second.save(out);
        assertSameParameters(second, LlavaForConditionalGeneration.load(out), "overwritten");
    }

    // ---- layouts ------------------------------------------------------------------------------

    /** gqa_untied's tensors (5.17 save names) renamed by {@code rename}, with its config, as a new directory. */
    Path renamed(String dirName, String source, UnaryOperator<String> rename, Map<String, Tensor> extra) throws IOException {
        Path src = LlavaFixtures.dir(source), out = Files.createDirectory(tmp.resolve(dirName));
        Files.copy(src.resolve("config.json"), out.resolve("config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensorsFile f = SafeTensorsFile.open(src.resolve(Weights.FILE))) {
            for (String n : f.names()) w.put(rename.apply(n), f.readFloat(n));
        }
        extra.forEach(w::put);
        w.write(out.resolve(Weights.FILE));
        return out;
    }

    static String swap(String n, String from, String to) {
        return n.startsWith(from) ? to + n.substring(from.length()) : n;
    }

    /** 5.17 save names -> llava-hf hub names. */
    static String hub(String n) {
        return swap(n, "vision_tower.", "vision_tower.vision_model.");
    }

    /** 5.17 save names -> transformers 5.x in-memory names. */
    static String inMemory(String n) {
        n = swap(n, "language_model.model.", "model.language_model.");
        n = swap(n, "language_model.lm_head.", "lm_head.");
        n = swap(n, "vision_tower.", "model.vision_tower.");
        return swap(n, "multi_modal_projector.", "model.multi_modal_projector.");
    }

    /** 5.17 save names -> transformers 4.52+ in-memory names (the tower keeps vision_model.). */
    static String inMemory452(String n) {
        return swap(inMemory(n), "model.vision_tower.", "model.vision_tower.vision_model.");
    }

    @Test
    void everyLayoutLoadsTheSameWeights() throws IOException {
        LlavaForConditionalGeneration reference = LlavaForConditionalGeneration.load(LlavaFixtures.dir("gqa_untied"));
        Map<String, UnaryOperator<String>> layouts = Map.of("hub", LlavaCheckpointTest::hub, "memory5",
                LlavaCheckpointTest::inMemory, "memory452", LlavaCheckpointTest::inMemory452);
        for (var e : layouts.entrySet()) {
            Path d = renamed(e.getKey(), "gqa_untied", e.getValue(), Map.of());
            assertSameParameters(reference, LlavaForConditionalGeneration.load(d), e.getKey());
        }
        // buffers of older exports are skipped
        Path withBuffers = renamed("buffers", "gqa_untied", LlavaCheckpointTest::inMemory452, Map.of(
                "model.vision_tower.vision_model.embeddings.position_ids", Tensor.zeros(1, 17),
                "model.language_model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.zeros(2)));
        assertSameParameters(reference, LlavaForConditionalGeneration.load(withBuffers), "buffers");
    }

    @Test
    void shardedHubCheckpointsLoad() throws IOException {
        // two shards and the index transformers writes beside them, in the hub layout
        Path src = LlavaFixtures.dir("gqa_untied"), out = Files.createDirectory(tmp.resolve("sharded"));
        Files.copy(src.resolve("config.json"), out.resolve("config.json"));
        SafeTensorsWriter vision = new SafeTensorsWriter(), rest = new SafeTensorsWriter();
        var map = HfJson.object();
        try (SafeTensorsFile f = SafeTensorsFile.open(src.resolve(Weights.FILE))) {
            for (String n : f.names()) {
                boolean v = n.startsWith("vision_tower.");
                (v ? vision : rest).put(hub(n), f.readFloat(n));
                map.put(hub(n), v ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
        }
        vision.write(out.resolve("model-00001-of-00002.safetensors"));
        rest.write(out.resolve("model-00002-of-00002.safetensors"));
        var index = HfJson.object();
        index.putObject("metadata").put("total_size", 1);
        index.set("weight_map", map);
        HfJson.writeObject(out.resolve("model.safetensors.index.json"), index);
        assertSameParameters(LlavaForConditionalGeneration.load(src), LlavaForConditionalGeneration.load(out), "sharded");
    }

    @Test
    void tiedCheckpointsMayCarryARedundantHead() throws IOException {
        LlavaForConditionalGeneration reference = LlavaForConditionalGeneration.load(LlavaFixtures.dir("tied_full_layer1"));
        assertTrue(!reference.namedParameters().containsKey("language_model.lm_head.weight"), "tied: no head parameter");
        Tensor table = reference.languageModel.model.embedTokens.weight;
        Path d = renamed("tied", "tied_full_layer1", LlavaCheckpointTest::inMemory, Map.of("lm_head.weight", table));
        assertSameParameters(reference, LlavaForConditionalGeneration.load(d), "tied with lm_head");
    }

    @Test
    void aMixOfLayoutsIsOneErrorNamingATensorOfEach() throws IOException {
        Path mixed = renamed("mixed", "gqa_untied", n -> n.startsWith("language_model.") ? inMemory(n) : n, Map.of());
        IOException e = assertThrows(IOException.class, () -> LlavaForConditionalGeneration.load(mixed));
        String m = e.getMessage();
        assertTrue(m.contains("mix two LLaVA layouts") && (m.contains("'vision_tower.") || m.contains("'multi_modal_projector."))
                && (m.contains("'model.language_model.") || m.contains("'lm_head.weight'")) && !m.contains("\n"), m);

        Path tower = renamed("tower", "gqa_untied", n -> n.startsWith("vision_tower.encoder.layers.0.") ? hub(n) : n, Map.of());
        e = assertThrows(IOException.class, () -> LlavaForConditionalGeneration.load(tower));
        assertTrue(e.getMessage().contains("vision tower's tensor names mix two layouts")
                && e.getMessage().contains("vision_tower.vision_model.encoder.layers.0."), e.getMessage());
    }

    @Test
    void unknownNamesAreReportedWithTheMissingOnes() throws IOException {
        Path odd = renamed("odd", "gqa_untied", n -> swap(n, "multi_modal_projector.", "mm_projector."), Map.of());
        IOException e = assertThrows(IOException.class, () -> LlavaForConditionalGeneration.load(odd));
        assertTrue(e.getMessage().contains("missing [multi_modal_projector.linear_1.bias")
                && e.getMessage().contains("unexpected [mm_projector."), e.getMessage());
    }

    @Test
    void randomModelsSaveAndLoadWithTheSameLogits() throws IOException {
        LlavaConfig c = LlavaConfigTest.tiny().visionFeatureLayers(-1, 0).visionFeatureSelectStrategy("full").build();
        LlavaForConditionalGeneration a = LlavaForConditionalGeneration.random(c, 3);
        assertSameParameters(a, LlavaForConditionalGeneration.random(c, 3), "same seed");
        assertTrue(!java.util.Arrays.equals(a.multiModalProjector.linear1.weight.toFloatArray(),
                LlavaForConditionalGeneration.random(c, 4).multiModalProjector.linear1.weight.toFloatArray()), "another seed");
        Path out = tmp.resolve("random");
        a.save(out);
        LlavaForConditionalGeneration b = LlavaForConditionalGeneration.load(out);
        int f = c.featuresPerImage();
        int[] ids = new int[f + 3];
        ids[0] = 1;
        java.util.Arrays.fill(ids, 1, 1 + f, c.imageTokenIndex);
        ids[f + 1] = 5;
        ids[f + 2] = 6;
        Tensor px = Tensor.randn(new java.util.Random(1), 1f, 1, 3, 32, 32);
        try (var g = Autograd.noGrad()) {
            assertArrayEquals(a.forward(ids, 1, ids.length, null, px).toFloatArray(), b.forward(ids, 1, ids.length, null, px).toFloatArray());
        }
    }
}
