package dev.aspo.method.sentences;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SentenceSplitterTest {

    private static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        for (Span s : SentenceSplitter.split(text)) out.add(s.text(text));
        return out;
    }

    private static void assertSplit(String text, String... expected) {
        assertEquals(List.of(expected), sentences(text), "split of \"" + text + "\"");
    }

    @Test
    void terminatorsEndSentencesAndTheSpaceAfterGoesWithThem() {
        assertSplit("The cube is red. The ball is blue! Is it big? Yes.",
                "The cube is red. ", "The ball is blue! ", "Is it big? ", "Yes.");
        assertSplit("Really?! Yes!!  Fine.", "Really?! ", "Yes!!  ", "Fine.");
    }

    @Test
    void cjkTerminatorsNeedNoSpace() {
        assertSplit("红色的立方体。蓝色的球！它大吗？是的", "红色的立方体。", "蓝色的球！", "它大吗？", "是的");
    }

    @Test
    void newlinesEndSentencesAndBlankLinesStayWithThePrecedingOne() {
        assertSplit("A red cube\nA blue ball\n\n\nA green cone", "A red cube\n", "A blue ball\n\n\n", "A green cone");
        assertSplit("Windows line\r\nNext line", "Windows line\r\n", "Next line");
        assertSplit("\n\nLeading blank lines. Then text.", "\n\nLeading blank lines. ", "Then text.");
    }

    @Test
    void bulletAndNumberedListsGiveOneSentencePerItem() {
        assertSplit("Objects:\n- a red cube\n- a blue ball\n* a cone", "Objects:\n", "- a red cube\n", "- a blue ball\n",
                "* a cone");
        assertSplit("Steps:\n1. Open the box.\n2. Take the cube out\n10) Done", "Steps:\n", "1. Open the box.\n",
                "2. Take the cube out\n", "10) Done");
        assertSplit("1. First item. Still first? No.", "1. First item. ", "Still first? ", "No.");
        assertSplit("a) one\nb) two", "a) one\n", "b) two");
        assertSplit("Features: • fast • small and a•b", "Features: ", "• fast ", "• small and a•b");
    }

    @Test
    void decimalsAbbreviationsAndInitialsDoNotSplit() {
        assertSplit("It is 3.5 cm wide. Next.", "It is 3.5 cm wide. ", "Next.");
        assertSplit("Shapes, e.g. cubes, i.e. solids, vs. circles. Done.", "Shapes, e.g. cubes, i.e. solids, vs. circles. ",
                "Done.");
        assertSplit("Mr. Smith met Dr. Jones. They talked.", "Mr. Smith met Dr. Jones. ", "They talked.");
        assertSplit("J. R. R. Tolkien wrote it. It is long.", "J. R. R. Tolkien wrote it. ", "It is long.");
        assertSplit("The U.S. team won at 5 p.m. today. Good.", "The U.S. team won at 5 p.m. today. ", "Good.");
        assertSplit("See example.com for more. Thanks.", "See example.com for more. ", "Thanks.");
        assertSplit("Counted to 2. Then stopped.", "Counted to 2. ", "Then stopped.");
    }

    @Test
    void etcAndEllipsesSplitOnlyBeforeACapital() {
        assertSplit("Cubes, balls, etc. are shapes. Fine.", "Cubes, balls, etc. are shapes. ", "Fine.");
        assertSplit("Cubes, balls, etc. Then more.", "Cubes, balls, etc. ", "Then more.");
        assertSplit("Wait... what is that? I see… A cube.", "Wait... what is that? ", "I see… ", "A cube.");
        assertSplit("Smith et al. (2020) showed it. Yes.", "Smith et al. (2020) showed it. ", "Yes.");
        assertSplit("See Fig. 3 for it. Ok.", "See Fig. 3 for it. ", "Ok.");
    }

    @Test
    void closingQuotesAndBracketsStayWithTheirSentence() {
        assertSplit("He said \"Stop.\" Then he left.", "He said \"Stop.\" ", "Then he left.");
        assertSplit("\"Stop!\" she said. Fine.", "\"Stop!\" she said. ", "Fine.");
        assertSplit("(It is red.) The ball is blue.", "(It is red.) ", "The ball is blue.");
        assertSplit("他说：「好。」然后走了。", "他说：「好。」", "然后走了。");
    }

    @Test
    void edgeInputs() {
        assertEquals(List.of(), SentenceSplitter.split(""));
        assertSplit("   ", "   ");
        assertSplit("\n\n", "\n\n");
        assertSplit("...", "...");
        assertSplit("no final punctuation", "no final punctuation");
        assertSplit("Trailing space.   ", "Trailing space.   ");
        assertSplit("Ends with closers. )\"", "Ends with closers. )\"");
        assertSplit("!!! Hello there. Bye", "!!! Hello there. ", "Bye");
        assertSplit("👍. Great 🎉! Next", "👍. ", "Great 🎉! ", "Next");
    }

    @Test
    void spansAreInCodePointsNotChars() {
        String text = "𝔸 is a letter. 😀 ok.";   // two characters outside the BMP: 2 chars, 1 code point each
        List<Span> spans = SentenceSplitter.split(text);
        assertEquals(List.of(new Span(0, 15), new Span(15, 20)), spans);
        assertEquals("😀 ok.", spans.get(1).text(text));
    }

    @Test
    void veryLongSentencesAndTextsAreLinear() {
        StringBuilder one = new StringBuilder();
        for (int i = 0; i < 200_000; i++) one.append("word ");
        assertEquals(1, SentenceSplitter.split(one.toString()).size());

        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 50_000; i++) many.append("It is e.g. 3.5 or etc. fine. ");
        List<Span> spans = SentenceSplitter.split(many.toString());
        assertEquals(50_000, spans.size());
        assertPartition(many.toString(), spans);

        String dots = "a.".repeat(100_000) + " end.";   // one long dotted word: each dot is checked once
        assertEquals(1, SentenceSplitter.split(dots).size());
    }

    // ---- properties over random unicode text ---------------------------------------------------

    /** Pieces random texts are made of: words in several scripts, the splitter's special characters, odd code points. */
    private static final String[] PIECES = {
        "cube", "Ball", "red", "I", "A", "e.g.", "i.e.", "Mr.", "Dr.", "vs.", "etc.", "U.S.", "3.5", "42", "x", "J.",
        ".", ".", "!", "?", "...", "…", "?!", "。", "！", "？", "\"", "'", ")", "(", "」", "「", "”", "“",
        " ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u00A0", "\u3000", "- ", "* ", "1. ", "2) ", "• ", "◦",
        "红色", "立方体", "Ωμέγα", "кубик", "مكعب", "😀", "👍🏽", "𝔸", "e\u0301", "\u200B", "\uFEFF", "\u0000", ",", ";", ":",
    };

    static String randomText(Random rng) {
        StringBuilder sb = new StringBuilder();
        int pieces = rng.nextInt(40);
        for (int p = 0; p < pieces; p++) {
            if (rng.nextInt(8) == 0) {   // any code point at all, including unassigned and surrogate halves
                int c = rng.nextInt(0x30000);
                sb.appendCodePoint(c);
            } else {
                sb.append(PIECES[rng.nextInt(PIECES.length)]);
            }
        }
        return sb.toString();
    }

    static void assertPartition(String text, List<Span> spans) {
        int length = text.codePointCount(0, text.length());
        if (length == 0) {
            assertEquals(List.of(), spans, "empty text");
            return;
        }
        assertTrue(!spans.isEmpty(), "no spans for \"" + text + "\"");
        int at = 0;
        for (Span s : spans) {
            if (s.start() != at || s.length() <= 0) fail("spans " + spans + " do not tile \"" + text + "\" at " + at);
            at = s.end();
        }
        assertEquals(length, at, "spans " + spans + " end before the text \"" + text + "\"");
    }

    private static boolean hasContent(String s) {
        return s.codePoints().anyMatch(SentenceSplitter::isContent);
    }

    @Test
    void randomUnicodeTextsArePartitioned() {
        Random rng = new Random(20250519);
        for (int trial = 0; trial < 5000; trial++) {
            String text = randomText(rng);
            List<Span> spans = SentenceSplitter.split(text);
            assertPartition(text, spans);
            if (spans.size() > 1) {
                for (Span s : spans) assertTrue(hasContent(s.text(text)), "sentence without content " + s + " in \"" + text + "\"");
            }
            // a sentence split on its own is itself: no decision depends on text outside the sentence
            for (Span s : spans) {
                String sentence = s.text(text);
                List<Span> again = SentenceSplitter.split(sentence);
                assertEquals(List.of(new Span(0, s.length())), again, "sentence \"" + sentence + "\" of \"" + text + "\"");
            }
        }
    }

    @Test
    void joiningSentencesWithASpaceAfterATerminatorSplitsThere() {
        Random rng = new Random(5);
        for (int trial = 0; trial < 2000; trial++) {
            String a = "Word" + rng.nextInt(100) + ".", b = "Next" + randomText(rng);
            List<String> got = sentences(a + " " + b);
            assertEquals(a + " ", got.get(0), "\"" + a + " " + b + "\"");
        }
    }
}
