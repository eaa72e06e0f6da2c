package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint folder reads the same whether it holds one file or an index and shards; writing
 * shards follows transformers; a broken sharded checkpoint is one error naming the file and tensor.
 */
class SafeTensorsCheckpointTest {
    @TempDir
    Path tmp;

    /** Tensors of 24, 16, 20, 8 and 4 bytes, with metadata. */
    private static SafeTensorsWriter writer(float offset) {
        return new SafeTensorsWriter()
                .put("layers.0.w", new float[] {1 + offset, 2, 3, 4, 5, 6}, 2, 3)
                .put("layers.0.b", new float[] {7 + offset, 8, 9, 10}, 4)
                .put("layers.1.w", new float[] {11 + offset, 12, 13, 14, 15}, 5)
                .put("layers.1.b", new float[] {16 + offset, 17}, 2)
                .put("norm", new float[] {18 + offset}, 1)
                .metadata("format", "pt");
    }

    private static final List<String> NAMES = List.of("layers.0.b", "layers.0.w", "layers.1.b", "layers.1.w", "norm");

    private static Set<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Map<String, float[]> read(Path path) throws IOException {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafeTensorsCheckpoint c = SafeTensorsCheckpoint.open(path)) {
            for (String n : c.names()) out.put(n, c.readFloat(n).toFloatArray());
        }
        return out;
    }

    private static void assertSameTensors(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()));
        for (var e : expected.entrySet()) assertArrayEquals(e.getValue(), actual.get(e.getKey()), e.getKey());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(Path file) throws Exception {
        return (Map<String, Object>) HeaderJson.parse(Files.readString(file));
    }

    // ---- reading ------------------------------------------------------------------------------

    @Test
    void aShardedFolderReadsAsTheSingleFile() throws Exception {
        Path single = tmp.resolve("single"), sharded = tmp.resolve("sharded");
        writer(0).writeCheckpoint(single, ShardSize.UNLIMITED);
        writer(0).writeCheckpoint(sharded, 32);
        assertEquals(Set.of(CheckpointFiles.SINGLE), files(single));
        assertEquals(Set.of(CheckpointFiles.INDEX, "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), files(sharded));
        assertSameTensors(read(single), read(sharded));
        assertEquals(NAMES, new ArrayList<>(new TreeSet<>(read(sharded).keySet())));
        try (SafeTensorsCheckpoint c = SafeTensorsCheckpoint.open(sharded)) {
            assertTrue(c.isSharded());
            assertEquals(sharded.resolve(CheckpointFiles.INDEX), c.source());
            assertEquals(3, c.files().size());
            assertEquals(List.of(2, 3), List.of(c.info("layers.0.w").shape()[0], c.info("layers.0.w").shape()[1]));
            assertEquals(sharded.resolve("model-00001-of-00003.safetensors"), c.file("layers.0.b"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.info("nope"));
            assertTrue(e.getMessage().contains("no tensor 'nope'"), e.getMessage());
        }
        assertSameTensors(read(single), read(sharded.resolve(CheckpointFiles.INDEX)));   // the index itself opens too
        assertSameTensors(read(single), read(single.resolve(CheckpointFiles.SINGLE)));
        try (SafeTensorsFile shard = SafeTensorsFile.open(sharded.resolve("model-00002-of-00003.safetensors"))) {
            assertEquals(Map.of("format", "pt"), shard.metadata(), "every shard carries the metadata");
        }
    }

    @Test
    void aFolderWithBothLayoutsReadsTheSingleFileAsTransformersDoes() throws Exception {
        Path d = tmp.resolve("both");
        writer(0).writeCheckpoint(d, 32);
        writer(100).write(d.resolve(CheckpointFiles.SINGLE));
        assertEquals(101f, read(d).get("layers.0.w")[0]);
        try (SafeTensorsCheckpoint c = SafeTensorsCheckpoint.open(d)) {
            assertFalse(c.isSharded());
        }
    }

    @Test
    void aTensorAShardHoldsButTheIndexDoesNotNameIsReadAsTransformersReadsIt() throws Exception {
        Path d = tmp.resolve("unnamed");
        writer(0).writeCheckpoint(d, 32);
        String index = Files.readString(d.resolve(CheckpointFiles.INDEX));
        Files.writeString(d.resolve(CheckpointFiles.INDEX), index.replace("    \"norm\": \"model-00003-of-00003.safetensors\"\n", "")
                .replace("\"layers.1.w\": \"model-00003-of-00003.safetensors\",", "\"layers.1.w\": \"model-00003-of-00003.safetensors\""));
        assertFalse(Files.readString(d.resolve(CheckpointFiles.INDEX)).contains("norm"));
        assertEquals(18f, read(d).get("norm")[0]);
    }

    private Path sharded(String name) throws IOException {
        Path d = tmp.resolve(name);
        writer(0).writeCheckpoint(d, 32);
        return d;
    }

    private static SafeTensorsException broken(Path dir) {
        return assertThrows(SafeTensorsException.class, () -> SafeTensorsCheckpoint.open(dir).close());
    }

    @Test
    void aMissingShardIsOneErrorNamingItAndATensorItShouldHold() throws Exception {
        Path d = sharded("missing");
        Path shard = d.resolve("model-00002-of-00003.safetensors");
        Files.delete(shard);
        SafeTensorsException e = broken(d);
        assertEquals(shard, e.file());
        assertTrue(e.getMessage().contains("no such file") && e.getMessage().contains(CheckpointFiles.INDEX)
                && e.getMessage().contains("for 2 tensors (e.g. 'layers.0.w')"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void aCorruptShardIsOneErrorNamingItAndWhatIsWrong() throws Exception {
        Path d = sharded("corrupt");
        Path shard = d.resolve("model-00003-of-00003.safetensors");
        byte[] bytes = Files.readAllBytes(shard);
        Files.write(shard, java.util.Arrays.copyOf(bytes, bytes.length - 3));      // cut short
        SafeTensorsException e = broken(d);
        assertEquals(shard, e.file());
        assertTrue(e.getMessage().startsWith(shard + ": not a valid shard of " + CheckpointFiles.INDEX + ": ")
                && e.getMessage().contains("run past the end"), e.getMessage());

        Files.writeString(shard, "not safetensors at all");
        e = broken(d);
        assertTrue(e.getMessage().startsWith(shard + ": not a valid shard of ") && e.getMessage().contains("header length"), e.getMessage());
    }

    private static void editIndex(Path d, String from, String to) throws IOException {
        Path index = d.resolve(CheckpointFiles.INDEX);
        String text = Files.readString(index);
        assertTrue(text.contains(from), text);
        Files.writeString(index, text.replace(from, to));
    }

    @Test
    void anIndexNamingATensorNoShardHoldsIsOneErrorNamingIt() throws Exception {
        Path d = sharded("ghost");
        editIndex(d, "\"norm\":", "\"ghost\": \"model-00001-of-00003.safetensors\",\n    \"norm\":");
        SafeTensorsException e = broken(d);
        assertEquals(d.resolve(CheckpointFiles.INDEX), e.file());
        assertTrue(e.getMessage().contains("tensor 'ghost' in model-00001-of-00003.safetensors, which does not hold it")
                && e.getMessage().contains("no shard the index names holds it"), e.getMessage());
    }

    @Test
    void anIndexPuttingATensorInTheWrongShardSaysWhereItIs() throws Exception {
        Path d = sharded("wrong");
        editIndex(d, "\"norm\": \"model-00003-of-00003.safetensors\"", "\"norm\": \"model-00001-of-00003.safetensors\"");
        SafeTensorsException e = broken(d);
        assertTrue(e.getMessage().contains("'norm' in model-00001-of-00003.safetensors, which does not hold it (it is in"
                + " model-00003-of-00003.safetensors)"), e.getMessage());
    }

    @Test
    void aTensorInTwoShardsIsOneErrorNamingBoth() throws Exception {
        Path d = sharded("twice");
        new SafeTensorsWriter().put("layers.0.b", new float[] {1, 2, 3, 4}, 4).put("norm", new float[] {5}, 1)
                .write(d.resolve("model-00003-of-00003.safetensors"));
        SafeTensorsException e = broken(d);
        assertTrue(e.getMessage().contains("tensor 'layers.0.b' is in two shards, model-00001-of-00003.safetensors and"
                + " model-00003-of-00003.safetensors"), e.getMessage());
    }

    @Test
    void aBrokenIndexIsOneErrorNamingItAndWhatIsWrong() throws Exception {
        Path d = sharded("index");
        Path index = d.resolve(CheckpointFiles.INDEX);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("{\"weight_map\": {", "not valid JSON");
        cases.put("[1, 2]", "not a JSON object");
        cases.put("{\"metadata\": {}}", "has no \"weight_map\"");
        cases.put("{\"weight_map\": [\"a\"]}", "\"weight_map\" must be an object of tensor name -> shard file, got an array");
        cases.put("{\"weight_map\": {}}", "\"weight_map\" is empty");
        cases.put("{\"weight_map\": {\"norm\": 3}}", "tensor 'norm' maps to 3, not a shard file name");
        cases.put("{\"weight_map\": {\"norm\": \"../model-00003-of-00003.safetensors\"}}", "not a file name in the index's folder");
        cases.put("{\"weight_map\": {\"norm\": \"a\", \"norm\": \"b\"}}", "norm");
        for (var c : cases.entrySet()) {
            Files.writeString(index, c.getKey());
            SafeTensorsException e = broken(d);
            assertEquals(index, e.file(), c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + " -> " + e.getMessage());
        }
        Files.write(index, new byte[] {'{', (byte) 0xff, '}'});
        assertTrue(broken(d).getMessage().contains("not valid UTF-8"));
    }

    @Test
    void aFolderWithoutACheckpointIsOneError() throws Exception {
        Path d = Files.createDirectory(tmp.resolve("empty"));
        SafeTensorsException e = broken(d);
        assertEquals(d, e.file());
        assertTrue(e.getMessage().contains("no model.safetensors and no model.safetensors.index.json"), e.getMessage());
        assertFalse(CheckpointFiles.exists(d));
    }

    // ---- writing ------------------------------------------------------------------------------

    @Test
    void theIndexIsWrittenByteForByteAsTransformersWritesIt() throws Exception {
        Map<String, Object> ref = PythonFixtureTest.sideFile("sharding_reference.json");
        @SuppressWarnings("unchecked")
        Map<String, Object> index = (Map<String, Object>) ref.get("index");
        Map<String, Long> metadata = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) index.get("metadata");
        m.forEach((k, v) -> metadata.put(k, Long.parseLong(v.toString())));
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Object pair : (List<?>) index.get("weight_map")) weightMap.put((String) ((List<?>) pair).get(0), (String) ((List<?>) pair).get(1));
        assertEquals(index.get("text"), SafeTensorsIndex.format(metadata, weightMap));
    }

    @Test
    @SuppressWarnings("unchecked")
    void theIndexMapsEveryTensorAndCountsItsElementsAndBytes() throws Exception {
        Path d = sharded("index");
        Map<String, Object> index = json(d.resolve(CheckpointFiles.INDEX));
        Map<String, Object> metadata = (Map<String, Object>) index.get("metadata");
        assertEquals("18", metadata.get("total_parameters").toString());
        assertEquals("72", metadata.get("total_size").toString());
        // 32 bytes a shard: layers.0.b (16) | layers.0.w (24) + layers.1.b (8), exactly 32 | layers.1.w (20) + norm (4)
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("layers.0.b", "model-00001-of-00003.safetensors");
        expected.put("layers.0.w", "model-00002-of-00003.safetensors");
        expected.put("layers.1.b", "model-00002-of-00003.safetensors");
        expected.put("layers.1.w", "model-00003-of-00003.safetensors");
        expected.put("norm", "model-00003-of-00003.safetensors");
        assertEquals(expected, index.get("weight_map"));
        assertTrue(Files.readString(d.resolve(CheckpointFiles.INDEX), StandardCharsets.UTF_8).endsWith("}\n"));
    }

    @Test
    void writingShardedOverASingleFileLeavesOnlyTheShards() throws Exception {
        Path d = tmp.resolve("over-single");
        writer(0).writeCheckpoint(d, ShardSize.UNLIMITED);
        Files.writeString(d.resolve("config.json"), "{}");
        Files.writeString(d.resolve("model-extra.safetensors"), "not ours to delete");
        writer(100).writeCheckpoint(d, 32);
        assertEquals(Set.of("config.json", "model-extra.safetensors", CheckpointFiles.INDEX, "model-00001-of-00003.safetensors",
                "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"), files(d));
        assertEquals(101f, read(d).get("layers.0.w")[0]);
    }

    @Test
    void writingASingleFileOverShardsLeavesOnlyTheFile() throws Exception {
        Path d = sharded("over-shards");
        Files.writeString(d.resolve("config.json"), "{}");
        writer(100).writeCheckpoint(d, ShardSize.UNLIMITED);
        assertEquals(Set.of("config.json", CheckpointFiles.SINGLE), files(d));
        assertEquals(101f, read(d).get("layers.0.w")[0]);
    }

    @Test
    void writingShardsOverShardsRemovesTheOldOnes() throws Exception {
        Path d = tmp.resolve("reshard");
        writer(0).writeCheckpoint(d, 4);          // every tensor alone: 5 shards
        assertEquals(6, files(d).size());
        writer(100).writeCheckpoint(d, 32);
        assertEquals(Set.of(CheckpointFiles.INDEX, "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors"), files(d));
        assertEquals(116f, read(d).get("layers.1.b")[0]);
        writer(200).writeCheckpoint(d, 32);       // the same shard names, new contents
        assertEquals(4, files(d).size());
        assertSameTensors(read(writerFolder(200)), read(d));
    }

    private Path writerFolder(float offset) throws IOException {
        Path d = tmp.resolve("reference-" + offset);
        writer(offset).writeCheckpoint(d, ShardSize.UNLIMITED);
        return d;
    }

    @Test
    void installRefusesAFolderWithoutACheckpoint() throws Exception {
        Path staged = Files.createDirectory(tmp.resolve("staged"));
        IOException e = assertThrows(IOException.class, () -> CheckpointFiles.install(staged, tmp.resolve("t")));
        assertTrue(e.getMessage().contains("neither model.safetensors nor model.safetensors.index.json"), e.getMessage());
    }
}
