package dev.aspo.method.sentences;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.models.tokenizer.BpeTrainer;
import dev.aspo.models.tokenizer.Encoding;
import dev.aspo.models.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SentenceAlignerTest {

    /** Every invariant of an alignment: ids start at 0, never decrease, step by 1, cover every sentence; spans tile the text. */
    static void assertValid(String text, int tokens, SentenceAlignment a) {
        int[] ids = a.sentenceIds();
        assertEquals(tokens, ids.length, "one id per token");
        int length = text.codePointCount(0, text.length());
        if (tokens == 0) {
            assertEquals(0, a.count(), "no tokens, no sentences");
            return;
        }
        assertEquals(0, ids[0], "first token in sentence 0: " + java.util.Arrays.toString(ids));
        for (int t = 1; t < ids.length; t++) {
            int step = ids[t] - ids[t - 1];
            if (step != 0 && step != 1) fail("ids jump at token " + t + ": " + java.util.Arrays.toString(ids) + " for \"" + text + "\"");
        }
        assertEquals(a.count() - 1, ids[ids.length - 1], "every sentence has a token");
        int at = 0;
        for (Span s : a.spans()) {
            assertEquals(at, s.start(), "spans tile the text: " + a.spans());
            assertTrue(s.length() > 0 || length == 0, "empty span " + s);
            at = s.end();
        }
        assertEquals(length, at, "spans end at the text's end");
        int total = 0;
        for (int c : a.tokenCounts()) total += c;
        assertEquals(tokens, total);
    }

    @Test
    void handExample() {
        String text = "It is red. A cube.";
        // It | _is | _red | . | _A | _cube | . | EOS   (byte-level style: the leading space is in the token)
        int[] starts = {0, 2, 5, 9, 10, 12, 17, 0}, ends = {2, 5, 9, 10, 12, 17, 18, 0};
        SentenceAlignment a = SentenceAligner.align(text, starts, ends);
        assertEquals(List.of(new Span(0, 11), new Span(11, 18)), a.spans());
        // "_A" starts at 10, the space that belongs to sentence 0: a straddling token goes where it starts
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1}, a.sentenceIds());
        assertArrayEquals(new int[] {5, 3}, a.tokenCounts());
    }

    @Test
    void specialTokensFollowTheirNeighbours() {
        String text = "Red. Blue.";
        // BOS(0,0) Red . _Blue . EOS(0,0) EOS(10,10)
        int[] starts = {0, 0, 3, 4, 9, 0, 10}, ends = {0, 3, 4, 9, 10, 0, 10};
        SentenceAlignment a = SentenceAligner.align(text, starts, ends);
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1}, a.sentenceIds());   // "_Blue" starts at 4, the space
        int[] starts2 = {0, 5, 9, 0}, ends2 = {5, 9, 10, 0};
        assertArrayEquals(new int[] {0, 1, 1, 1}, SentenceAligner.align(text, starts2, ends2).sentenceIds());
    }

    @Test
    void aSentenceInsideOneTokenMergesIntoThePreviousOne() {
        // three sentences of 3, 3 and 2 code points (given directly, not split from a text)
        List<Span> spans = List.of(new Span(0, 3), new Span(3, 6), new Span(6, 8));
        // one token covers "A. B. " entirely, then "C."
        SentenceAlignment a = SentenceAligner.align(spans, 8, new int[] {0, 6}, new int[] {6, 8});
        assertEquals(List.of(new Span(0, 6), new Span(6, 8)), a.spans());
        assertArrayEquals(new int[] {0, 1}, a.sentenceIds());
        // a first sentence before the first token merges into the next one
        SentenceAlignment b = SentenceAligner.align(spans, 8, new int[] {4, 6}, new int[] {6, 8});
        assertEquals(List.of(new Span(0, 6), new Span(6, 8)), b.spans());
        assertArrayEquals(new int[] {0, 1}, b.sentenceIds());
    }

    @Test
    void emptyAndWhitespaceOnlyResponses() {
        SentenceAlignment eosOnly = SentenceAligner.align("", new int[] {0}, new int[] {0});
        assertEquals(List.of(new Span(0, 0)), eosOnly.spans());
        assertArrayEquals(new int[] {0}, eosOnly.sentenceIds());
        assertEquals(0, SentenceAligner.align("", new int[0], new int[0]).count());
        SentenceAlignment spaces = SentenceAligner.align("  \n ", new int[] {0, 3, 4}, new int[] {3, 4, 4});
        assertEquals(List.of(new Span(0, 4)), spaces.spans());
        assertArrayEquals(new int[] {0, 0, 0}, spaces.sentenceIds());
    }

    @Test
    void badOffsetsAndSpansAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SentenceAligner.align("ab", new int[] {1}, new int[] {0}));
        assertTrue(e.getMessage().contains("token 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SentenceAligner.align(List.of(new Span(0, 1), new Span(2, 3)), 3, new int[] {0}, new int[] {1}));
        assertTrue(e.getMessage().contains("span 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SentenceAligner.align(List.of(new Span(0, 2)), 3, new int[] {0}, new int[] {1}));
        assertTrue(e.getMessage().contains("3 code points"), e.getMessage());
    }

    /**
     * Random tokenisations of random unicode texts, with the offset shapes real tokenizers produce:
     * consecutive pieces, a leading space left out of a token's range (byte-level trim_offsets),
     * several byte pieces sharing one character's range, special tokens with empty ranges anywhere.
     */
    @Test
    void randomTokenisationsOfRandomTextsArePartitioned() {
        Random rng = new Random(42);
        for (int trial = 0; trial < 5000; trial++) {
            String text = SentenceSplitterTest.randomText(rng);
            int length = text.codePointCount(0, text.length());
            List<int[]> tokens = new ArrayList<>();
            if (rng.nextBoolean()) tokens.add(new int[] {0, 0});   // BOS
            int at = 0;
            while (at < length) {
                int len = 1 + rng.nextInt(Math.min(6, length - at));
                int r = rng.nextInt(10);
                if (r == 0 && len > 1) {
                    tokens.add(new int[] {at + 1, at + len});   // range without its leading space
                } else if (r == 1) {
                    for (int b = 0; b < 1 + rng.nextInt(3); b++) tokens.add(new int[] {at, at + 1});   // byte pieces of one char
                    len = 1;
                } else if (r == 2) {
                    tokens.add(new int[] {at, at});   // a special token inside the text
                    continue;
                } else {
                    tokens.add(new int[] {at, at + len});
                }
                at += len;
            }
            if (rng.nextBoolean()) tokens.add(new int[] {0, 0});   // EOS as HF reports it
            if (rng.nextBoolean()) tokens.add(new int[] {length, length});
            int n = tokens.size();
            int[] starts = new int[n], ends = new int[n];
            for (int t = 0; t < n; t++) {
                starts[t] = tokens.get(t)[0];
                ends[t] = tokens.get(t)[1];
            }
            SentenceAlignment a = SentenceAligner.align(text, starts, ends);
            assertValid(text, n, a);
            // offsets here never go backwards, so a token with a range lies in the sentence where it starts
            for (int t = 0; t < n; t++) {
                if (starts[t] < ends[t]) {
                    Span s = a.spans().get(a.sentenceIds()[t]);
                    assertTrue(s.contains(starts[t]), "token " + t + " at " + starts[t] + " is in sentence " + s);
                }
            }
            // sentences are only merged when needed: one per sentence in which some token starts
            List<Span> split = SentenceSplitter.split(text);
            java.util.Set<Integer> starting = new java.util.HashSet<>();
            for (int t = 0; t < n; t++) {
                if (starts[t] < ends[t]) {
                    for (int s = 0; s < split.size(); s++) if (split.get(s).contains(starts[t])) starting.add(s);
                }
            }
            assertEquals(Math.max(starting.size(), n > 0 ? 1 : 0), a.count(), "merged sentences for \"" + text + "\"");
        }
    }

    @Test
    void aTrainedByteLevelTokenizerIsAlignedOnRandomTexts() {
        Random rng = new Random(3);
        List<String> corpus = new ArrayList<>();
        for (int i = 0; i < 200; i++) corpus.add(SentenceSplitterTest.randomText(rng));
        Tokenizer tokenizer = new BpeTrainer(400, 2, List.of("<eos>")).train(corpus);
        for (int trial = 0; trial < 1000; trial++) {
            String text = SentenceSplitterTest.randomText(rng);
            Encoding enc = tokenizer.encode(text);
            SentenceAlignment a = SentenceAligner.align(text, enc);
            assertValid(text, enc.size(), a);
        }
        // a real case: every sentence gets its words, and the trailing EOS joins the last sentence
        String text = "The cube is red. The ball is blue!\n- a cone";
        Encoding enc = tokenizer.encode(text + "<eos>");
        SentenceAlignment a = SentenceAligner.align(text + "<eos>", enc);
        assertValid(text + "<eos>", enc.size(), a);
        assertEquals(3, a.count(), a.spans().toString());
        assertEquals("- a cone<eos>", a.spans().get(2).text(text + "<eos>"));
    }
}
