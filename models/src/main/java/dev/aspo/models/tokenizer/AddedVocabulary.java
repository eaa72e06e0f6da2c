package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The added tokens of a tokenizer and their extraction from the input, HF's AddedVocabulary:
 *
 * <pre>
 *   "Hi &lt;s&gt;yo"  --split on non-normalized tokens (raw text)-->  "Hi " | &lt;s&gt; | "yo"
 *   each plain piece --normalize--> "▁Hi▁" | "▁yo"  --split on normalized tokens--> ...
 * </pre>
 *
 * The normalizer therefore runs on each piece between added tokens separately (so Prepend("▁")
 * prefixes every piece, as in HF). Matching is leftmost-longest, like HF's Aho-Corasick.
 */
final class AddedVocabulary {
    /** A piece of the input: either plain text for the pre-tokenizer/model or one added token. */
    static final class Piece {
        final NormalizedString text;
        final int addedId; // -1 for plain text

        Piece(NormalizedString text, int addedId) {
            this.text = text;
            this.addedId = addedId;
        }
    }

    private final Map<String, Integer> idByContent = new HashMap<>();
    private final Map<Integer, AddedToken> tokenById = new HashMap<>();
    private final Set<String> specialContents = new HashSet<>();
    private final List<AddedToken> ordered = new ArrayList<>();
    private final Trie rawTrie;
    private final Trie normalizedTrie;

    /**
     * Reads "added_tokens" in file order, resolving ids as HF does: the model's id when the model
     * has the string, otherwise the next id after the model vocabulary and earlier added tokens
     * (the "id" field in the file is only checked by HF, with a warning).
     */
    AddedVocabulary(JsonNode list, Bpe model, TextNormalizer normalizer, String where) {
        List<AddedToken> specials = new ArrayList<>();
        List<AddedToken> plain = new ArrayList<>();
        Set<AddedToken> seen = new HashSet<>();
        if (list != null) {
            for (int i = 0; i < list.size(); i++) {
                JsonNode t = list.get(i);
                String w = where + "[" + i + "]";
                if (!t.isObject()) throw new TokenizerFormatException(w + ": expected an object, got " + Json.kind(t));
                String content = Json.text(t, "content", w);
                boolean special = Json.optBool(t, "special", false, w);
                AddedToken probe = new AddedToken(0, content, Json.optBool(t, "single_word", false, w),
                        Json.optBool(t, "lstrip", false, w), Json.optBool(t, "rstrip", false, w),
                        Json.optBool(t, "normalized", !special, w), special);
                if (content.isEmpty() || seen.contains(probe)) continue;
                seen.add(probe);
                int id = tokenToId(content, model);
                if (id < 0) {
                    int max = -1;
                    for (int v : idByContent.values()) max = Math.max(max, v);
                    int vs = model.vocabSize();
                    id = max < 0 ? vs : (max >= vs || vs == 0 ? max + 1 : vs);
                }
                AddedToken tok = new AddedToken(id, content, probe.singleWord(), probe.lstrip(), probe.rstrip(),
                        probe.normalized(), special);
                if (special && specialContents.add(content)) specials.add(tok);
                idByContent.put(content, id);
                tokenById.put(id, tok);
                if (!specialContents.contains(content)) plain.add(tok);
                ordered.add(tok);
            }
        }
        rawTrie = new Trie();
        normalizedTrie = new Trie();
        List<AddedToken> all = new ArrayList<>(specials);
        all.addAll(plain);
        for (AddedToken t : all) {
            // The id is looked up again: a later entry may have replaced the token for this content.
            int id = idByContent.get(t.content());
            if (!t.normalized()) {
                rawTrie.add(t.content().codePoints().toArray(), id);
            } else {
                NormalizedString s = NormalizedString.of(t.content().codePoints().toArray());
                if (normalizer != null) normalizer.normalize(s);
                int[] cps = java.util.Arrays.copyOf(s.codePoints(), s.length());
                if (cps.length > 0) normalizedTrie.add(cps, id);
            }
        }
    }

    int tokenToId(String content, Bpe model) {
        Integer id = idByContent.get(content);
        return id != null ? id : model.tokenToId(content);
    }

    /** The added token's content for {@code id}, or null. */
    String idToContent(int id) {
        AddedToken t = tokenById.get(id);
        return t == null ? null : t.content();
    }

    boolean isSpecial(String content) {
        return specialContents.contains(content);
    }

    Map<String, Integer> contents() {
        return idByContent;
    }

    List<AddedToken> tokens() {
        Map<Integer, AddedToken> byId = new LinkedHashMap<>();
        for (AddedToken t : ordered) byId.put(t.id(), tokenById.get(t.id()));
        return List.copyOf(byId.values());
    }

    /** Splits {@code text} around added tokens and normalizes the pieces in between. */
    List<Piece> extractAndNormalize(TextNormalizer normalizer, int[] text) {
        List<Piece> pieces = new ArrayList<>();
        split(NormalizedString.of(text), rawTrie, pieces);
        List<Piece> out = new ArrayList<>();
        for (Piece p : pieces) {
            if (p.addedId >= 0) {
                out.add(p);
                continue;
            }
            if (normalizer != null) normalizer.normalize(p.text);
            split(p.text, normalizedTrie, out);
        }
        return out;
    }

    /** HF's find_matches + split_with_indices; empty pieces are dropped. */
    private void split(NormalizedString s, Trie trie, List<Piece> out) {
        int n = s.length();
        int[] cps = s.codePoints();
        int startOffset = 0;
        int i = 0;
        while (i < n && !trie.isEmpty()) {
            long m = trie.longestAt(cps, n, i);
            if (m < 0) {
                i++;
                continue;
            }
            int stop = (int) (m >>> 32);
            int id = (int) m;
            int start = i;
            // The next search starts after this match whether or not it is kept.
            i = stop;
            AddedToken t = tokenById.get(id);
            if (t.singleWord()) {
                boolean startSpace = start == 0 || !CharClasses.isWordChar(cps[start - 1]);
                boolean stopSpace = stop == n || !CharClasses.isWordChar(cps[stop]);
                if (!startSpace || !stopSpace) continue;
            }
            if (t.lstrip()) {
                int ns = start;
                while (ns > 0 && CharClasses.isWhiteSpace(cps[ns - 1])) ns--;
                start = Math.max(ns, startOffset);
            }
            if (t.rstrip()) {
                while (stop < n && CharClasses.isWhiteSpace(cps[stop])) stop++;
            }
            if (startOffset < start) out.add(new Piece(s.slice(startOffset, start), -1));
            out.add(new Piece(s.slice(start, stop), id));
            startOffset = stop;
        }
        if (startOffset < n) out.add(new Piece(s.slice(startOffset, n), -1));
    }

    /** A code-point trie of patterns; finds the longest pattern starting at a position. */
    private static final class Trie {
        private static final class Node {
            final Map<Integer, Node> next = new HashMap<>(4);
            int id = -1;
        }

        private final Node root = new Node();
        private boolean empty = true;

        void add(int[] pattern, int id) {
            Node node = root;
            for (int c : pattern) node = node.next.computeIfAbsent(c, k -> new Node());
            if (node.id < 0) node.id = id; // the first of identical patterns wins
            empty = false;
        }

        boolean isEmpty() {
            return empty;
        }

        /** (end << 32 | id) of the longest match at {@code pos}, or -1. */
        long longestAt(int[] cps, int n, int pos) {
            Node node = root;
            long best = -1;
            for (int i = pos; i < n; i++) {
                node = node.next.get(cps[i]);
                if (node == null) break;
                if (node.id >= 0) best = ((long) (i + 1) << 32) | node.id;
            }
            return best;
        }
    }
}
