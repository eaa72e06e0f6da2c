package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import it.unimi.dsi.fastutil.ints.IntIterator;
import it.unimi.dsi.fastutil.ints.IntOpenHashSet;
import it.unimi.dsi.fastutil.longs.Long2LongMap;
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;

/**
 * Trains a byte-level BPE tokenizer (GPT-2 / HF ByteLevelBPETokenizer layout) and returns it as a
 * {@link Tokenizer} whose {@link Tokenizer#toJson()} is a tokenizer.json that HF tokenizers loads
 * and encodes identically.
 *
 * <pre>
 *   texts ─► ByteLevel pre-tokenizer (GPT-2 regex, bytes as characters) ─► word counts
 *   vocab = special tokens, then the 256 byte characters (by code point)
 *   repeat until vocabSize: take the most frequent adjacent pair (ties: smallest left id, then
 *   smallest right id, as HF's trainer), add "left+right", rewrite the words that contain it
 * </pre>
 *
 * Pair counts are updated incrementally: only the words containing the merged pair are rewritten
 * (an index from pair to words), and a max-heap with lazy invalidation picks the next pair.
 */
public final class BpeTrainer {
    private final int vocabSize;
    private final int minFrequency;
    private final List<String> specialTokens;
    private final String bosToken;

    /**
     * @param vocabSize     target size including special tokens and the 256 byte characters
     * @param minFrequency  a pair seen fewer times than this is never merged (at least 1)
     * @param specialTokens special added tokens, given ids 0, 1, ... in this order
     */
    public BpeTrainer(int vocabSize, int minFrequency, List<String> specialTokens) {
        this(vocabSize, minFrequency, specialTokens, null);
    }

    private BpeTrainer(int vocabSize, int minFrequency, List<String> specialTokens, String bosToken) {
        if (minFrequency < 1) throw new IllegalArgumentException("minFrequency must be at least 1, got " + minFrequency);
        Set<String> seen = new HashSet<>();
        for (String s : specialTokens) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("special tokens must be non-empty strings");
            if (!seen.add(s)) throw new IllegalArgumentException("special token \"" + s + "\" is listed twice");
        }
        if (vocabSize < specialTokens.size() + 256) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " is smaller than the " + specialTokens.size()
                    + " special tokens plus the 256 byte characters");
        }
        if (bosToken != null && !specialTokens.contains(bosToken)) {
            throw new IllegalArgumentException("BOS token \"" + bosToken + "\" must be one of the special tokens " + specialTokens);
        }
        this.vocabSize = vocabSize;
        this.minFrequency = minFrequency;
        this.specialTokens = List.copyOf(specialTokens);
        this.bosToken = bosToken;
    }

    /**
     * A trainer whose tokenizer prepends {@code token} when encoding with special tokens (a
     * TemplateProcessing "token $A" after the ByteLevel post-processor, as Llama 3 does).
     */
    public BpeTrainer withBosToken(String token) {
        return new BpeTrainer(vocabSize, minFrequency, specialTokens, token);
    }

    /** Trains on {@code texts} and returns the tokenizer. */
    public Tokenizer train(Iterable<String> texts) {
        return Tokenizer.fromJson(trainJson(texts), "trained tokenizer");
    }

    /** Trains on {@code texts} and returns the tokenizer.json tree. */
    ObjectNode trainJson(Iterable<String> texts) {
        // 1. Words: byte-level pre-tokenization, exactly what encoding will do before the model.
        PreTokenizer pre = PreTokenizer.byteLevel(false, true);
        Map<String, Integer> wordCounts = new TreeMap<>();
        List<NormalizedString> words = new ArrayList<>();
        for (String text : texts) {
            words.clear();
            pre.preTokenize(NormalizedString.of(text.codePoints().toArray()), words);
            for (NormalizedString w : words) wordCounts.merge(w.get(), 1, Integer::sum);
        }

        // 2. Initial vocabulary: special tokens, then the byte alphabet in code-point order.
        List<String> tokens = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (String s : specialTokens) add(tokens, ids, s);
        int[] alphabet = ByteLevel.alphabet();
        java.util.Arrays.sort(alphabet);
        for (int c : alphabet) add(tokens, ids, new String(Character.toChars(c)));

        int nWords = wordCounts.size();
        int[][] syms = new int[nWords][];
        long[] freq = new long[nWords];
        int wi = 0;
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            int[] cps = e.getKey().codePoints().toArray();
            int[] s = new int[cps.length];
            for (int i = 0; i < cps.length; i++) s[i] = ids.get(new String(Character.toChars(cps[i])));
            syms[wi] = s;
            freq[wi++] = e.getValue();
        }

        // 3. Pair counts and the words each pair occurs in.
        // (primitive maps: a pair is a long, a word an int; only sums and a fully ordered heap
        // depend on them, so their iteration order does not matter)
        Long2LongOpenHashMap counts = new Long2LongOpenHashMap();
        Long2ObjectOpenHashMap<IntOpenHashSet> where = new Long2ObjectOpenHashMap<>();
        for (int w = 0; w < nWords; w++) {
            int[] s = syms[w];
            for (int i = 0; i + 1 < s.length; i++) {
                long key = pair(s[i], s[i + 1]);
                counts.addTo(key, freq[w]);
                where.computeIfAbsent(key, k -> new IntOpenHashSet()).add(w);
            }
        }
        // Max-heap on count, then the smallest (left, right) ids: HF's trainer order.
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0])
                : a[1] != b[1] ? Long.compare(a[1], b[1]) : Long.compare(a[2], b[2]));
        for (Long2LongMap.Entry e : counts.long2LongEntrySet()) heap.add(entry(e.getLongValue(), e.getLongKey()));

        // 4. Merge loop.
        List<String[]> merges = new ArrayList<>();
        while (tokens.size() < vocabSize && !heap.isEmpty()) {
            long[] top = heap.poll();
            long key = pair((int) top[1], (int) top[2]);
            long current = counts.get(key);   // 0 when absent
            if (top[0] != current) {
                if (current > 0) heap.add(entry(current, key));
                continue;
            }
            if (current < minFrequency) break;
            int left = (int) top[1];
            int right = (int) top[2];
            String merged = tokens.get(left) + tokens.get(right);
            Integer existing = ids.get(merged);
            int newId = existing != null ? existing : add(tokens, ids, merged);
            merges.add(new String[]{tokens.get(left), tokens.get(right)});

            Long2LongOpenHashMap delta = new Long2LongOpenHashMap();
            IntOpenHashSet affected = where.remove(key);
            for (IntIterator it = affected.iterator(); it.hasNext(); ) {
                int w = it.nextInt();
                int[] s = syms[w];
                for (int i = 0; i + 1 < s.length; i++) delta.addTo(pair(s[i], s[i + 1]), -freq[w]);
                s = mergePair(s, left, right, newId);
                syms[w] = s;
                for (int i = 0; i + 1 < s.length; i++) {
                    long k = pair(s[i], s[i + 1]);
                    delta.addTo(k, freq[w]);
                    where.computeIfAbsent(k, x -> new IntOpenHashSet()).add(w);
                }
            }
            for (Long2LongMap.Entry d : delta.long2LongEntrySet()) {
                long change = d.getLongValue(), pairKey = d.getLongKey();
                if (change == 0) continue;
                long c = counts.get(pairKey) + change;
                if (c <= 0) counts.remove(pairKey);
                else counts.put(pairKey, c);
                // A pair that gained needs a fresh heap entry; one that lost is fixed when popped.
                if (change > 0) heap.add(entry(c, pairKey));
            }
        }
        return toJson(tokens, merges);
    }

    /** Merges every non-overlapping occurrence of (left, right), left to right. */
    private static int[] mergePair(int[] s, int left, int right, int newId) {
        int[] out = new int[s.length];
        int n = 0;
        for (int i = 0; i < s.length; i++) {
            if (i + 1 < s.length && s[i] == left && s[i + 1] == right) {
                out[n++] = newId;
                i++;
            } else {
                out[n++] = s[i];
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static int add(List<String> tokens, Map<String, Integer> ids, String token) {
        Integer have = ids.get(token);
        if (have != null) return have;
        ids.put(token, tokens.size());
        tokens.add(token);
        return tokens.size() - 1;
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    private static long[] entry(long count, long key) {
        return new long[]{count, key >>> 32, key & 0xFFFFFFFFL};
    }

    /** The tokenizer.json layout HF's ByteLevelBPETokenizer writes (plus an optional BOS template). */
    private ObjectNode toJson(List<String> tokens, List<String[]> merges) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < specialTokens.size(); i++) {
            ObjectNode t = added.addObject();
            t.put("id", i);
            t.put("content", specialTokens.get(i));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        ObjectNode post = byteLevel(true, false);
        if (bosToken == null) {
            root.set("post_processor", post);
        } else {
            ObjectNode seq = f.objectNode();
            seq.put("type", "Sequence");
            ArrayNode procs = seq.putArray("processors");
            procs.add(post);
            procs.add(bosTemplate(tokens.indexOf(bosToken)));
            root.set("post_processor", seq);
        }
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < tokens.size(); i++) vocab.put(tokens.get(i), i);
        ArrayNode m = model.putArray("merges");
        for (String[] p : merges) m.addArray().add(p[0]).add(p[1]);
        return root;
    }

    /**
     * A ByteLevel component with the fields HF writes; only add_prefix_space matters for the
     * pre-tokenizer and only trim_offsets (false: offsets keep their spaces) for the post-processor.
     */
    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", true);
        return n;
    }

    private ObjectNode bosTemplate(int bosId) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode t = f.objectNode();
        t.put("type", "TemplateProcessing");
        ArrayNode single = t.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", bosToken).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = t.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", bosToken).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", bosToken).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode specials = t.putObject("special_tokens");
        ObjectNode bos = specials.putObject(bosToken);
        bos.put("id", bosToken);
        bos.putArray("ids").add(bosId);
        bos.putArray("tokens").add(bosToken);
        return t;
    }
}
