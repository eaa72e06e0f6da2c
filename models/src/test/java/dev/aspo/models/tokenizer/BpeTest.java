package dev.aspo.models.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The BPE model on its own: the heap-based merge loop against a plain "merge the lowest-ranked,
 * leftmost pair until none applies" reference on random vocabularies and words, and the unknown
 * character paths (unk, fuse_unk, byte fallback, dropped characters) on hand-worked examples.
 */
class BpeTest {
    /** Plain reference: list of strings, repeatedly merge the best (lowest rank, leftmost) pair. */
    static List<String> referenceMerge(String word, Map<String, Integer> rank) {
        List<String> syms = new ArrayList<>();
        word.codePoints().forEach(c -> syms.add(new String(Character.toChars(c))));
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < syms.size(); i++) {
                Integer r = rank.get(syms.get(i) + " " + syms.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) return syms;
            syms.set(best, syms.get(best) + syms.get(best + 1));
            syms.remove(best + 1);
        }
    }

    static int[] tokenize(Bpe bpe, String word) {
        int[] cps = word.codePoints().toArray();
        return bpe.tokenize(cps, cps.length);
    }

    @Test
    void mergeLoopMatchesPlainReferenceOnRandomVocabularies() {
        Random rnd = new Random(7);
        String[] alphabet = {"a", "b", "c", "d", "é", "😀"};
        for (int trial = 0; trial < 40; trial++) {
            Map<String, Integer> vocab = new HashMap<>();
            List<String> tokens = new ArrayList<>();
            for (String a : alphabet) {
                vocab.put(a, vocab.size());
                tokens.add(a);
            }
            List<String[]> merges = new ArrayList<>();
            Map<String, Integer> rank = new HashMap<>();
            int nMerges = 5 + rnd.nextInt(40);
            for (int k = 0; k < nMerges; k++) {
                String l = tokens.get(rnd.nextInt(tokens.size()));
                String r = tokens.get(rnd.nextInt(tokens.size()));
                if (rank.containsKey(l + " " + r)) continue;
                String m = l + r;
                if (!vocab.containsKey(m)) {
                    vocab.put(m, vocab.size());
                    tokens.add(m);
                }
                rank.put(l + " " + r, merges.size());
                merges.add(new String[]{l, r});
            }
            Bpe bpe = new Bpe(vocab, merges.toArray(new String[0][]), null, false, false, false, null, null, "model");
            for (int w = 0; w < 50; w++) {
                StringBuilder sb = new StringBuilder();
                int len = 1 + rnd.nextInt(w < 45 ? 12 : 300);
                for (int i = 0; i < len; i++) sb.append(alphabet[rnd.nextInt(rnd.nextBoolean() ? 2 : alphabet.length)]);
                String word = sb.toString();
                List<String> want = referenceMerge(word, rank);
                int[] got = tokenize(bpe, word);
                List<String> gotStrings = new ArrayList<>();
                int expectedStart = 0;
                for (int k = 0; k < got.length; k += 3) {
                    String t = tokens.get(got[k]);
                    gotStrings.add(t);
                    // Offsets are code points of the word, contiguous.
                    assertEquals(expectedStart, got[k + 1], word);
                    expectedStart += t.codePointCount(0, t.length());
                    assertEquals(expectedStart, got[k + 2], word);
                }
                assertEquals(want, gotStrings, "word " + word);
                // Second call goes through the word cache and must agree.
                assertArrayEquals(got, tokenize(bpe, word));
            }
        }
    }

    static Map<String, Integer> vocab(String... tokens) {
        Map<String, Integer> v = new HashMap<>();
        for (String t : tokens) v.put(t, v.size());
        return v;
    }

    @Test
    void unknownCharactersBecomeUnkFusedOrNot() {
        Map<String, Integer> v = vocab("a", "b", "<unk>", "ab");
        String[][] merges = {{"a", "b"}};
        // "axxb": fused unk covers both x.
        Bpe fused = new Bpe(v, merges, "<unk>", true, false, false, null, null, "model");
        assertArrayEquals(new int[]{0, 0, 1, 2, 1, 3, 1, 3, 4}, tokenize(fused, "axxb"));
        Bpe separate = new Bpe(v, merges, "<unk>", false, false, false, null, null, "model");
        assertArrayEquals(new int[]{0, 0, 1, 2, 1, 2, 2, 2, 3, 1, 3, 4}, tokenize(separate, "axxb"));
        // No unk token: HF drops the characters and accumulates offsets over what is left, so
        // "a" and "b" merge and the offsets no longer see the dropped "xx".
        Bpe none = new Bpe(v, merges, null, false, false, false, null, null, "model");
        assertArrayEquals(new int[]{3, 0, 2}, tokenize(none, "axxb"));
    }

    @Test
    void byteFallbackSpellsUnknownCharactersInBytes() {
        // "é" is C3 A9 in UTF-8; both byte tokens cover the one character.
        Map<String, Integer> v = vocab("<unk>", "<0xC3>", "<0xA9>", "a");
        Bpe bpe = new Bpe(v, new String[0][], "<unk>", true, true, false, null, null, "model");
        assertArrayEquals(new int[]{3, 0, 1, 1, 1, 2, 2, 1, 2, 3, 2, 3}, tokenize(bpe, "aéa"));
        // "ü" (C3 BC) lacks <0xBC>: the whole character is unk.
        assertArrayEquals(new int[]{3, 0, 1, 0, 1, 2}, tokenize(bpe, "aü"));
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() {
        // Merges would give "ab" + "c"; the vocabulary has "abc" as a whole word.
        Map<String, Integer> v = vocab("a", "b", "c", "ab", "bc", "abc");
        String[][] merges = {{"a", "b"}, {"b", "c"}};
        Bpe plain = new Bpe(v, merges, null, false, false, false, null, null, "model");
        assertArrayEquals(new int[]{3, 0, 2, 2, 2, 3}, tokenize(plain, "abc"));
        Bpe ignore = new Bpe(v, merges, null, false, false, true, null, null, "model");
        assertArrayEquals(new int[]{5, 0, 3}, tokenize(ignore, "abc"));
    }

    @Test
    void subwordPrefixAndSuffixDecorateLookups() {
        Map<String, Integer> v = vocab("a", "##b", "##c</w>", "a##b", "ab", "ab##c</w>", "abc</w>");
        String[][] merges = {{"a", "##b"}, {"ab", "##c</w>"}};
        Bpe bpe = new Bpe(v, merges, null, false, false, false, "##", "</w>", "model");
        assertEquals("[6, 0, 3]", Arrays.toString(tokenize(bpe, "abc")));
    }

    @Test
    void utf8LossyDecodingReplacesMaximalSubparts() {
        // The example of Unicode 3.9 (table 3-8): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
        byte[] b = {0x61, (byte) 0xF1, (byte) 0x80, (byte) 0x80, (byte) 0xE1, (byte) 0x80, (byte) 0xC2, 0x62,
                (byte) 0x80, 0x63, (byte) 0x80, (byte) 0xBF, 0x64};
        assertEquals("a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd", Utf8.decodeLossy(b, b.length));
        assertEquals(null, Utf8.decodeStrict(b, b.length));
        byte[] ok = "é😀".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("é😀", Utf8.decodeStrict(ok, ok.length));
        // Surrogate code points (ED A0 80) and overlongs (C0 AF) are ill-formed byte by byte.
        byte[] bad = {(byte) 0xED, (byte) 0xA0, (byte) 0x80, (byte) 0xC0, (byte) 0xAF};
        assertEquals("\uFFFD".repeat(5), Utf8.decodeLossy(bad, bad.length));
    }
}
