package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** A {@code max_shard_size} text means the bytes huggingface_hub reads it as. */
class ShardSizeTest {
    @Test
    @SuppressWarnings("unchecked")
    void sizesAreReadAsHuggingfaceHubReadsThem() throws Exception {
        Map<String, Object> sizes = (Map<String, Object>) PythonFixtureTest.sideFile("sharding_reference.json").get("sizes");
        assertTrue(sizes.size() >= 10);
        for (var e : sizes.entrySet()) assertEquals(Long.parseLong(e.getValue().toString()), ShardSize.parse(e.getKey()), e.getKey());
    }

    @Test
    void aPlainNumberIsBytes() {
        assertEquals(1, ShardSize.parse("1"));
        assertEquals(5_000_000_000L, ShardSize.parse("5000000000"));
        assertEquals(Long.MAX_VALUE, ShardSize.parse(String.valueOf(Long.MAX_VALUE)));
    }

    @Test
    void anythingElseIsOneErrorQuotingTheText() {
        for (String bad : new String[] {"", "GB", "5GiB", "5 G", "five MB", "-5MB", "5e3KB", "1,5GB", "0x10", "-1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShardSize.parse(bad), bad);
            assertTrue(e.getMessage().contains("\"" + bad + "\"") && e.getMessage().contains("KB, MB, GB or TB"), e.getMessage());
        }
    }

    @Test
    void aShardHoldsAtLeastOneByte() {
        for (String zero : new String[] {"0", "0KB", "0.0001KB"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ShardSize.parse(zero), zero);
            assertTrue(e.getMessage().contains("0 bytes"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ShardSize.parse("99999999999999999999"))
                .getMessage().contains("64-bit"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ShardSize.parse("10000000TB")).getMessage().contains("64-bit"));
    }
}
