package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tensors go into shards exactly as transformers' save_pretrained puts them. */
class ShardPlanTest {
    private static Map<String, Long> sizes(Object... nameBytes) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < nameBytes.length; i += 2) m.put((String) nameBytes[i], ((Number) nameBytes[i + 1]).longValue());
        return m;
    }

    @Test
    void aShardIsClosedWhenTheNextTensorWouldTakeItPastTheLimit() {
        assertEquals(List.of(List.of("a", "b"), List.of("c"), List.of("d", "e")),
                ShardPlan.split(sizes("a", 4, "b", 6, "c", 7, "d", 5, "e", 5), 10));
    }

    @Test
    void aTensorLargerThanTheLimitGetsAShardOfItsOwnAheadOfTheOneBeingFilled() {
        // huggingface_hub appends the large tensor's shard at once; the small ones keep filling theirs
        assertEquals(List.of(List.of("b"), List.of("a", "c")), ShardPlan.split(sizes("a", 3, "b", 11, "c", 3), 10));
        assertEquals(List.of(List.of("a", "b")), ShardPlan.split(sizes("a", 3, "b", 7), 10), "exactly the limit fits");
    }

    @Test
    void namesAreOrderedAsTransformersOrdersAStateDictBeforeSaving() {
        List<String> names = List.of("layers.10.w", "layers.2.w", "layers.2.b", "layer11", "layer2", "a.b", "a", "z");
        Map<String, Long> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, 1L);
        assertEquals(List.of(List.of("a", "a.b", "layer2", "layer11", "layers.2.b", "layers.2.w", "layers.10.w", "z")),
                ShardPlan.split(m, 100));
    }

    @Test
    void oneShardIsTheSingleFileAndMoreAreNumbered() {
        assertEquals(Map.of("a", "model.safetensors", "b", "model.safetensors"), ShardPlan.weightMap(List.of(List.of("a", "b"))));
        assertEquals(Map.of("a", "model-00001-of-00002.safetensors", "b", "model-00002-of-00002.safetensors"),
                ShardPlan.weightMap(List.of(List.of("a"), List.of("b"))));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyReferenceCaseSplitsAsHuggingfaceHubSplitIt() throws Exception {
        List<Object> cases = (List<Object>) PythonFixtureTest.sideFile("sharding_reference.json").get("cases");
        assertTrue(cases.size() >= 10);
        int oversized = 0;
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            long limit = Long.parseLong(c.get("limit").toString());
            Map<String, Long> sizes = new LinkedHashMap<>();
            long total = 0;
            for (Object t : (List<Object>) c.get("tensors")) {
                List<Object> nb = (List<Object>) t;
                long bytes = Long.parseLong(nb.get(1).toString());
                sizes.put((String) nb.get(0), bytes);
                total += bytes;
                if (bytes > limit) oversized++;
            }
            List<List<String>> expected = new ArrayList<>();
            for (Object s : (List<Object>) c.get("shards")) expected.add((List<String>) (List<?>) s);
            assertEquals(expected, ShardPlan.split(sizes, limit), "limit " + limit + ", tensors " + sizes);
            assertEquals(Long.parseLong(c.get("total_size").toString()), total);
        }
        assertTrue(oversized > 0, "the cases include tensors over the limit");
    }
}
