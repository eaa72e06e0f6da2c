package dev.aspo.models.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.llama.Fixtures;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sharded checkpoints ({@code model.safetensors.index.json} + shards) for every model type: the
 * shards transformers writes load to the same weights and logits as the single file, and ours are
 * transformers' files byte for byte (fixtures from {@code make_sharded_fixtures.py}).
 */
class ShardedCheckpointTest {
    @TempDir
    Path tmp;

    /** The limit the committed sharded fixture was written with ("5KB"). */
    static final long FIXTURE_LIMIT = ShardSize.parse("5KB");

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Set<String> weightFiles(Path dir) throws IOException {
        Set<String> out = new TreeSet<>(files(dir));
        out.removeIf(f -> !f.startsWith("model"));
        return out;
    }

    private static void assertSameParameters(Module expected, Module actual, String what) {
        assertEquals(expected.namedParameters().keySet(), actual.namedParameters().keySet(), what);
        for (var e : expected.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), actual.namedParameters().get(e.getKey()).toFloatArray(), what + " " + e.getKey());
        }
    }

    @Test
    void transformersShardsLoadToTheWeightsAndLogitsOfTheSingleFile() throws IOException {
        Path sharded = Fixtures.dir("gqa_untied_sharded");
        assertFalse(Files.exists(sharded.resolve(Weights.FILE)));
        assertTrue(weightFiles(sharded).size() > 10, "the fixture is split into many shards");
        LlamaForCausalLM single = LlamaForCausalLM.load(Fixtures.dir("gqa_untied"));
        LlamaForCausalLM fromShards = LlamaForCausalLM.load(sharded);
        assertSameParameters(single, fromShards, "sharded");
        assertInstanceOf(LlamaForCausalLM.class, AutoModel.load(sharded));
        try (SafeTensorsFile f = Fixtures.expected("gqa_untied"); var g = Autograd.noGrad()) {
            int[] shape = f.info("input.ids").shape();
            int[] ids = Fixtures.ints(f, "input.ids");
            Tensor a = single.forward(ids, shape[0], shape[1], null), b = fromShards.forward(ids, shape[0], shape[1], null);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            Fixtures.assertAbs("sharded logits", f.readFloatArray("expected.logits"), b.toFloatArray(), 1e-4);
        }
    }

    @Test
    void ourShardsAreTransformersShardsByteForByte() throws IOException {
        Path reference = Fixtures.dir("gqa_untied_sharded");
        Path out = tmp.resolve("ours");
        LlamaForCausalLM.load(Fixtures.dir("gqa_untied")).save(out, FIXTURE_LIMIT);
        assertEquals(weightFiles(reference), weightFiles(out));
        for (String f : weightFiles(reference)) {
            assertArrayEquals(Files.readAllBytes(reference.resolve(f)), Files.readAllBytes(out.resolve(f)), f);
        }
        assertEquals(Set.of(Weights.CONFIG), diff(files(out), weightFiles(out)));
    }

    private static Set<String> diff(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }

    @Test
    void ourIndexAssignsShardsAsTransformersDoesForOtherLimits() throws Exception {
        LlamaForCausalLM m = LlamaForCausalLM.load(Fixtures.dir("gqa_untied"));
        for (String limit : new String[] {"12KB", "30KB"}) {
            Path out = tmp.resolve(limit);
            m.save(out, ShardSize.parse(limit));
            Path reference = Path.of(getClass().getResource("/llama/sharding/gqa_untied-" + limit + ".index.json").toURI());
            assertEquals(Files.readString(reference), Files.readString(out.resolve(Weights.INDEX)), limit);
            assertSameParameters(m, LlamaForCausalLM.load(out), limit);
        }
    }

    @Test
    void everyModelTypeWritesAndReadsShards() throws IOException {
        for (String c : new String[] {"llava/gqa_untied", "llama/mha_tied", "clip/clip", "clip/clip_vision_model"}) {
            Module m = AutoModel.load(AutoModelTest.resource(c));
            Path out = tmp.resolve(c.replace('/', '_'));
            AutoModel.save(m, out, 4096);
            assertFalse(Files.exists(out.resolve(Weights.FILE)), c);
            assertTrue(weightFiles(out).size() > 3, c + ": " + weightFiles(out));
            Module back = AutoModel.load(out);
            assertEquals(m.getClass(), back.getClass());
            assertSameParameters(m, back, c);
        }
    }

    @Test
    void aLimitTheWeightsFitInWritesTheSingleFile() throws IOException {
        Path out = tmp.resolve("fits");
        LlamaForCausalLM.load(Fixtures.dir("gqa_untied")).save(out, ShardSize.parse("1MB"));
        assertEquals(Set.of(Weights.CONFIG, Weights.FILE), files(out));
        assertArrayEquals(Files.readAllBytes(Fixtures.dir("gqa_untied").resolve(Weights.FILE)), Files.readAllBytes(out.resolve(Weights.FILE)));
    }

    @Test
    void savingIntoAnExistingFolderSwitchesLayoutsWithoutLeavingBoth() throws IOException {
        Path out = tmp.resolve("switch");
        LlamaForCausalLM first = LlamaForCausalLM.load(Fixtures.dir("gqa_untied"));
        LlamaForCausalLM second = LlamaForCausalLM.load(Fixtures.dir("right_padding"));
        first.save(out);
        Files.writeString(out.resolve("tokenizer.json"), "{}");
        second.save(out, FIXTURE_LIMIT);
        assertFalse(Files.exists(out.resolve(Weights.FILE)));
        assertTrue(files(out).contains(Weights.INDEX) && files(out).contains("tokenizer.json"));
        assertSameParameters(second, LlamaForCausalLM.load(out), "sharded over single");

        first.save(out);
        assertEquals(Set.of(Weights.CONFIG, Weights.FILE, "tokenizer.json"), files(out));
        assertSameParameters(first, LlamaForCausalLM.load(out), "single over sharded");
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temporary folders left");
        }
    }

    private Path copyOfFixture(String name) throws IOException {
        Path d = Files.createDirectory(tmp.resolve(name));
        Path src = Fixtures.dir("gqa_untied_sharded");
        for (String f : files(src)) Files.copy(src.resolve(f), d.resolve(f));
        return d;
    }

    @Test
    void aMissingShardIsOneErrorNamingIt() throws IOException {
        Path d = copyOfFixture("missing");
        Files.delete(d.resolve("model-00007-of-00015.safetensors"));
        IOException e = assertThrows(IOException.class, () -> AutoModel.load(d));
        assertTrue(e.getMessage().startsWith(d.resolve("model-00007-of-00015.safetensors") + ": cannot open this shard")
                && e.getMessage().contains("model.layers.0.self_attn.o_proj.weight") && e.getMessage().contains("no such file"),
                e.getMessage());
    }

    @Test
    void aCorruptShardIsOneErrorNamingIt() throws IOException {
        Path d = copyOfFixture("corrupt");
        Path shard = d.resolve("model-00003-of-00015.safetensors");
        byte[] b = Files.readAllBytes(shard);
        b[8] = 'x';                        // the header's opening brace
        Files.write(shard, b);
        IOException e = assertThrows(IOException.class, () -> LlamaForCausalLM.load(d));
        assertTrue(e.getMessage().startsWith(shard + ": not a valid shard of model.safetensors.index.json: header is not valid JSON"),
                e.getMessage());
    }

    @Test
    void anIndexNamingATensorNoShardHoldsIsOneErrorNamingIt() throws IOException {
        Path d = copyOfFixture("ghost");
        Path index = d.resolve(Weights.INDEX);
        Files.writeString(index, Files.readString(index).replace("\"model.norm.weight\"", "\"model.extra.weight\": \"model-00015-of-00015.safetensors\",\n    \"model.norm.weight\""));
        IOException e = assertThrows(IOException.class, () -> LlamaForCausalLM.load(d));
        assertTrue(e.getMessage().startsWith(index + ": \"weight_map\" puts tensor 'model.extra.weight' in model-00015-of-00015.safetensors,"
                + " which does not hold it"), e.getMessage());
    }

    @Test
    void aShardTheIndexDoesNotNameIsNotRead() throws IOException {
        // a stale shard of an earlier, larger save: transformers opens only the shards its index names
        Path d = copyOfFixture("stale");
        Files.copy(d.resolve("model-00001-of-00015.safetensors"), d.resolve("model-00016-of-00016.safetensors"));
        assertSameParameters(LlamaForCausalLM.load(Fixtures.dir("gqa_untied")), LlamaForCausalLM.load(d), "stale shard beside");
    }
}
