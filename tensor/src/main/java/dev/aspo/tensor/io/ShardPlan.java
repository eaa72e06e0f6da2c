package dev.aspo.tensor.io;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which tensors go in which shard, as transformers' {@code save_pretrained(max_shard_size=...)}
 * decides it, so that the same weights and limit give the same files and index:
 *
 * <ol>
 *   <li>the tensors are ordered by name as transformers orders a loaded model's state dict before
 *       saving ({@code dot_natural_key}: the name split on dots, numbers compared as numbers, so
 *       {@code layers.2} comes before {@code layers.10});
 *   <li>they are dealt out in that order as huggingface_hub's {@code split_torch_state_dict_into_shards}
 *       does: a tensor goes into the current shard unless it would take it past the limit, which
 *       closes the shard and starts a new one; a tensor larger than the limit alone gets a shard of
 *       its own, appended at once (so before the shard still being filled);
 *   <li>shard {@code i} of {@code n} is named {@code model-0000i-of-0000n.safetensors}; a single
 *       shard is {@code model.safetensors} and has no index.
 * </ol>
 */
final class ShardPlan {
    private ShardPlan() {}

    /**
     * The shards for tensors of the given byte sizes (any order): each a list of names, in the
     * order they were dealt; one list when everything fits in one shard; none for no tensors.
     */
    static List<List<String>> split(Map<String, Long> bytes, long maxShardBytes) {
        if (maxShardBytes < 1) throw new IllegalArgumentException("max shard size " + maxShardBytes + " must be at least 1 byte");
        List<String> names = new ArrayList<>(bytes.keySet());
        names.sort(NATURAL);
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long currentBytes = 0;
        for (String name : names) {
            long size = bytes.get(name);
            if (size > maxShardBytes) {
                shards.add(List.of(name));
                continue;
            }
            if (currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(name);
            currentBytes += size;
        }
        if (!current.isEmpty()) shards.add(current);
        return shards;
    }

    /** The file each tensor goes into, for {@link #split}'s shards (all in {@code model.safetensors} for one shard). */
    static Map<String, String> weightMap(List<List<String>> shards) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String file = shards.size() == 1 ? CheckpointFiles.SINGLE : CheckpointFiles.shardName(i + 1, shards.size());
            for (String name : shards.get(i)) out.put(name, file);
        }
        return out;
    }

    /** transformers' {@code dot_natural_key} order; equal keys (e.g. {@code a01}, {@code a1}) keep their order. */
    static final Comparator<String> NATURAL = (a, b) -> {
        List<Object[]> ka = naturalKey(a), kb = naturalKey(b);
        for (int i = 0; i < Math.min(ka.size(), kb.size()); i++) {
            int c = compareParts(ka.get(i), kb.get(i));
            if (c != 0) return c;
        }
        return Integer.compare(ka.size(), kb.size());
    };

    /**
     * One tuple per dot-separated part: {@code (0, number)} for all digits, else
     * {@code (1, text)} or {@code (1, text, trailing number)}.
     */
    private static List<Object[]> naturalKey(String name) {
        List<Object[]> parts = new ArrayList<>();
        for (String part : name.split("\\.", -1)) {
            if (!part.isEmpty() && allDigits(part)) {
                parts.add(new Object[] {0, new BigInteger(part)});
                continue;
            }
            int end = part.length();
            while (end > 0 && part.charAt(end - 1) >= '0' && part.charAt(end - 1) <= '9') end--;
            parts.add(end == part.length() ? new Object[] {1, part} : new Object[] {1, part.substring(0, end), new BigInteger(part.substring(end))});
        }
        return parts;
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        }
        return true;
    }

    /** Python's tuple order: element by element, then the shorter first. */
    private static int compareParts(Object[] a, Object[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            int c;
            if (a[i] instanceof Integer x) c = Integer.compare(x, (Integer) b[i]);
            else if (a[i] instanceof BigInteger x) c = x.compareTo((BigInteger) b[i]);
            else c = compareCodePoints((String) a[i], (String) b[i]);
            if (c != 0) return c;
        }
        return Integer.compare(a.length, b.length);
    }

    /** Python compares strings by code point; String.compareTo by UTF-16 unit, which differs above U+FFFF. */
    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }
}
