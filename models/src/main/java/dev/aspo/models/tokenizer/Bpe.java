package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongHeapPriorityQueue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a tokenizer.json: splits one pre-tokenized word into vocabulary ids.
 *
 * <pre>
 *   word "lower" -> symbols l o w e r          (one per character; unknown characters become
 *                                               byte tokens "&lt;0xAB&gt;" or the unk token)
 *   repeat: merge the adjacent pair with the lowest merge rank (leftmost on ties)
 *           l o w e r -> lo w e r -> low e r -> low er -> lower
 * </pre>
 *
 * The merge loop is HF's: a min-heap of candidate merges keyed by (rank, position) over a
 * doubly linked list of symbols; an entry whose pair has changed since it was queued is skipped.
 * Results are cached per word (words repeat a lot in real text).
 */
final class Bpe {
    private static final int CACHE_CAPACITY = 10_000;
    /** HF only caches words shorter than this. */
    private static final int CACHE_MAX_WORD = 256;

    private final Map<String, Integer> vocab;
    private final String[] vocabR;
    /** (left id, right id) -> (rank << 32 | new id). */
    private final Long2LongOpenHashMap merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String continuingSubwordPrefix;
    private final String endOfWordSuffix;
    /** The ids of "&lt;0x00&gt;".."&lt;0xFF&gt;", or -1 where absent. */
    private final int[] byteIds = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    /** How far ids may run past the vocabulary's size: room for ids only added tokens hold. */
    private static final int MAX_ID_GAP = 1 << 16;

    Bpe(Map<String, Integer> vocab, String[][] mergePairs, String unkToken, boolean fuseUnk, boolean byteFallback,
        boolean ignoreMerges, String continuingSubwordPrefix, String endOfWordSuffix, String where) {
        this.vocab = vocab;
        int maxId = -1;
        String maxToken = null;
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (e.getValue() < 0) throw new TokenizerFormatException(where + ".vocab: negative id for \"" + e.getKey() + "\"");
            if (e.getValue() > maxId) {
                maxId = e.getValue();
                maxToken = e.getKey();
            }
        }
        // ids are dense (0 .. size - 1) but for those of added tokens: the id-to-token table is sized
        // by the largest id, so one stray id of 2e9 would allocate gigabytes
        if ((long) maxId >= (long) vocab.size() + MAX_ID_GAP) {
            throw new TokenizerFormatException(where + ".vocab: id " + maxId + " of \"" + maxToken + "\" is far beyond the "
                    + vocab.size() + " entries (ids run from 0 to the vocabulary size)");
        }
        this.vocabR = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            String other = vocabR[e.getValue()];
            if (other != null) {
                throw new TokenizerFormatException(where + ".vocab: id " + e.getValue() + " is given to both \"" + other + "\" and \""
                        + e.getKey() + "\"");
            }
            vocabR[e.getValue()] = e.getKey();
        }
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.continuingSubwordPrefix = continuingSubwordPrefix;
        this.endOfWordSuffix = endOfWordSuffix;
        if (unkToken != null) {
            Integer u = vocab.get(unkToken);
            if (u == null) throw new TokenizerFormatException(where + ".unk_token: \"" + unkToken + "\" is not in the vocab");
            unkId = u;
        } else {
            unkId = -1;
        }
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        int prefixLen = continuingSubwordPrefix == null ? 0 : continuingSubwordPrefix.length();
        merges = new Long2LongOpenHashMap(mergePairs.length);
        merges.defaultReturnValue(-1);   // values are (rank << 32 | id) >= 0, so -1 means absent
        for (int rank = 0; rank < mergePairs.length; rank++) {
            String a = mergePairs[rank][0];
            String b = mergePairs[rank][1];
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            if (ia == null || ib == null) {
                throw new TokenizerFormatException(where + ".merges[" + rank + "]: token \"" + (ia == null ? a : b)
                        + "\" is not in the vocab");
            }
            if (b.length() < prefixLen) {
                throw new TokenizerFormatException(where + ".merges[" + rank + "]: \"" + b
                        + "\" is shorter than the continuing_subword_prefix");
            }
            String merged = a + b.substring(prefixLen);
            Integer im = vocab.get(merged);
            if (im == null) {
                throw new TokenizerFormatException(where + ".merges[" + rank + "]: merged token \"" + merged
                        + "\" is not in the vocab");
            }
            // A repeated pair keeps its last rank, as HF's map collection does.
            merges.put(pairKey(ia, ib), ((long) rank << 32) | im);
        }
    }

    /** Reads a "model" object of type BPE. */
    static Bpe fromJson(JsonNode node, String where) {
        String type = Json.optText(node, "type", where);
        if (type != null && !type.equals("BPE")) throw Json.unsupported(where, "model", type, "BPE");
        if (type == null && node.get("merges") == null) {
            throw new TokenizerFormatException(where + ": no \"type\" and no \"merges\"; only BPE models are supported");
        }
        JsonNode dropout = node.get("dropout");
        if (!Json.isNull(dropout) && dropout.asDouble() != 0.0) {
            throw new TokenizerFormatException(where + ".dropout: BPE dropout " + dropout.asDouble()
                    + " is not supported (encoding would be random)");
        }
        JsonNode v = Json.object(node, "vocab", where);
        Map<String, Integer> vocab = new HashMap<>(v.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isIntegralNumber() || !e.getValue().canConvertToInt()) {
                throw new TokenizerFormatException(where + ".vocab: id of \"" + e.getKey() + "\" is not an integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        JsonNode m = Json.array(node, "merges", where);
        String[][] pairs = new String[m.size()][];
        for (int i = 0; i < m.size(); i++) {
            JsonNode e = m.get(i);
            if (e.isTextual()) {
                // Old form "a b".
                String s = e.asText();
                int sp = s.indexOf(' ');
                if (sp < 0) throw new TokenizerFormatException(where + ".merges[" + i + "]: \"" + s + "\" is not \"left right\"");
                pairs[i] = new String[]{s.substring(0, sp), s.substring(sp + 1)};
            } else if (e.isArray() && e.size() == 2 && e.get(0).isTextual() && e.get(1).isTextual()) {
                pairs[i] = new String[]{e.get(0).asText(), e.get(1).asText()};
            } else {
                throw new TokenizerFormatException(where + ".merges[" + i + "]: expected \"left right\" or [left, right], got " + e);
            }
        }
        return new Bpe(vocab, pairs, Json.optText(node, "unk_token", where), Json.optBool(node, "fuse_unk", false, where),
                Json.optBool(node, "byte_fallback", false, where), Json.optBool(node, "ignore_merges", false, where),
                Json.optText(node, "continuing_subword_prefix", where), Json.optText(node, "end_of_word_suffix", where),
                where);
    }

    int tokenToId(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    String idToToken(int id) {
        return id >= 0 && id < vocabR.length ? vocabR[id] : null;
    }

    int vocabSize() {
        return vocab.size();
    }

    /**
     * Tokenizes one word given as code points. Returns triples {id, start, end} with offsets in
     * code points of the word; byte tokens of one character all cover that character.
     */
    int[] tokenize(int[] cps, int n) {
        if (n == 0) return new int[0];
        String word = new String(cps, 0, n);
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) return new int[]{id, 0, n};
        }
        int[] hit = cache.get(word);
        if (hit != null) return hit;
        int[] result = mergeWord(cps, n);
        if (n < CACHE_MAX_WORD) {
            if (cache.size() >= CACHE_CAPACITY) cache.clear();
            cache.put(word, result);
        }
        return result;
    }

    private int[] mergeWord(int[] cps, int n) {
        // Symbols as parallel arrays (id, length in UTF-8 bytes of the word), HF's Word. Offsets
        // are accumulated from the lengths at the end, exactly as HF does, then mapped to code points.
        Symbols w = new Symbols(n + 4);
        int unkLen = -1;
        for (int i = 0; i < n; i++) {
            int byteLen = Utf8.length(cps[i]);
            String s = new String(cps, i, 1);
            if (i > 0 && continuingSubwordPrefix != null) s = continuingSubwordPrefix + s;
            if (i == n - 1 && endOfWordSuffix != null) s = s + endOfWordSuffix;
            Integer vid = vocab.get(s);
            if (vid != null) {
                if (unkLen >= 0) {
                    w.add(unkId, unkLen);
                    unkLen = -1;
                }
                w.add(vid, byteLen);
                continue;
            }
            if (byteFallback) {
                // HF looks up the bytes of the decorated string (prefix/suffix included).
                byte[] bytes = Utf8.encode(s);
                boolean all = true;
                for (byte b : bytes) if (byteIds[b & 0xFF] < 0) all = false;
                if (all) {
                    // A pending unk stays pending (HF emits it after these bytes).
                    for (byte b : bytes) w.add(byteIds[b & 0xFF], 1);
                    continue;
                }
            }
            if (unkId >= 0) {
                if (unkLen >= 0 && fuseUnk) {
                    unkLen += byteLen;
                } else {
                    if (unkLen >= 0) w.add(unkId, unkLen);
                    unkLen = byteLen;
                }
            }
            // Without an unk token the character is dropped, as in HF.
        }
        if (unkLen >= 0) w.add(unkId, unkLen);
        mergeAll(w);
        // Byte offset -> code point index of the word.
        int totalBytes = 0;
        for (int i = 0; i < n; i++) totalBytes += Utf8.length(cps[i]);
        int[] cpOfByte = new int[totalBytes + 1];
        for (int i = 0, b = 0; i < n; i++) {
            int len = Utf8.length(cps[i]);
            for (int j = 0; j < len; j++) cpOfByte[b++] = i;
        }
        cpOfByte[totalBytes] = n;
        int[] out = new int[w.alive * 3];
        int k = 0;
        int offset = 0;
        for (int i = 0; i < w.count; i++) {
            if (w.len[i] == 0) continue;
            int s = offset;
            int e = offset + w.len[i];
            offset = e;
            out[k++] = w.id[i];
            // Clamp like a conversion that cannot run past the word (only reachable when HF's
            // byte-fallback and pending-unk ordering make lengths exceed the text).
            out[k++] = cpOfByte[Math.min(s, totalBytes)];
            out[k++] = e >= 1 ? cpOfByte[Math.min(e - 1, totalBytes - 1)] + 1 : 0;
        }
        return out;
    }

    /** HF's Word::merge_all: repeatedly apply the lowest-ranked merge (leftmost on ties). */
    private void mergeAll(Symbols w) {
        int count = w.count;
        int[] id = w.id;
        int[] len = w.len;
        int[] prev = new int[count];
        int[] next = new int[count];
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        // (rank << 32) | position: ordered by rank, then position (leftmost on ties)
        LongHeapPriorityQueue heap = new LongHeapPriorityQueue(count + 4);
        for (int i = 0; i + 1 < count; i++) {
            long m = merges.get(pairKey(id[i], id[i + 1]));
            if (m >= 0) heap.enqueue(((m >>> 32) << 32) | i);
        }
        while (!heap.isEmpty()) {
            long top = heap.dequeueLong();
            int pos = (int) (top & 0xFFFFFFFFL);
            int rank = (int) (top >>> 32);
            if (len[pos] == 0 || next[pos] < 0) continue;
            int right = next[pos];
            long m = merges.get(pairKey(id[pos], id[right]));
            // Stale entry: the pair at pos changed since it was queued.
            if (m < 0 || (int) (m >>> 32) != rank) continue;
            id[pos] = (int) m;
            len[pos] += len[right];
            len[right] = 0;
            w.alive--;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) {
                long pm = merges.get(pairKey(id[prev[pos]], id[pos]));
                if (pm >= 0) heap.enqueue(((pm >>> 32) << 32) | prev[pos]);
            }
            if (next[pos] >= 0) {
                long nm = merges.get(pairKey(id[pos], id[next[pos]]));
                if (nm >= 0) heap.enqueue(((nm >>> 32) << 32) | pos);
            }
        }
    }

    /** The symbols of a word being merged: ids and byte lengths (0 = merged away). */
    private static final class Symbols {
        int[] id;
        int[] len;
        int count;
        int alive;

        Symbols(int cap) {
            id = new int[cap];
            len = new int[cap];
        }

        void add(int symbol, int byteLen) {
            if (count == id.length) {
                id = Arrays.copyOf(id, count * 2);
                len = Arrays.copyOf(len, count * 2);
            }
            id[count] = symbol;
            len[count++] = byteLen;
            alive++;
        }
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }
}
