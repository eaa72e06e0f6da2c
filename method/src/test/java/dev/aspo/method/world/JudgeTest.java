package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.sentences.SentenceSplitter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class JudgeTest {
    /** A small red circle top left, a large blue square in the centre. */
    private static final Scene SCENE = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
            new SceneObject(Shape.SQUARE, Colour.BLUE, Size.LARGE, 4)));

    private static Verdict verdict(String sentence) {
        return Judge.judgeSentence(SCENE, sentence).verdict();
    }

    @Test
    void objectSentences() {
        assertEquals(Verdict.CORRECT, verdict("There is a small red circle in the top left corner."));
        assertEquals(Verdict.CORRECT, verdict("  a LARGE Blue Square is in the middle.\n"));
        assertEquals(Verdict.CORRECT, verdict("I see a blue square."));
        assertEquals(Verdict.HALLUCINATED, verdict("There is a green star at the bottom."));
        assertEquals(Verdict.HALLUCINATED, verdict("There is a blue circle in the top left corner."));   // circle and blue exist, a blue circle does not
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There is a large red circle in the top left corner."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There is a small red circle in the upper right."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("On the left, there is a small red circle."));   // cell 3, not 0
        assertEquals(Verdict.CORRECT, verdict("There is a circle in the upper left."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There is a circle at the bottom."));
        assertEquals(Verdict.HALLUCINATED, verdict("There is a triangle."));
    }

    @Test
    void answerSentences() {
        SentenceJudgement right = Judge.judgeSentence(SCENE, "The circle is red.");
        assertEquals(new SentenceJudgement("The circle is red.", Verdict.CORRECT, Colour.RED, Shape.CIRCLE, false), right);
        // the circle is there but not blue: the sentence is about the red circle, its colour is wrong
        SentenceJudgement wrong = Judge.judgeSentence(SCENE, "The circle is blue.");
        assertEquals(Verdict.WRONG_ATTRIBUTE, wrong.verdict());
        assertEquals(Colour.RED, wrong.colour());
        assertEquals(Verdict.HALLUCINATED, verdict("The triangle is red."));
        assertEquals(Verdict.CORRECT, verdict("The blue square is large."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("The blue square is small."));
        assertEquals(Verdict.CORRECT, verdict("The blue square is at the center."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("The red circle is in the lower right."));
    }

    @Test
    void countSentences() {
        SentenceJudgement two = Judge.judgeSentence(SCENE, "There are two objects.");
        assertEquals(Verdict.CORRECT, two.verdict());
        assertTrue(two.countSentence());
        assertNull(two.shape());
        assertEquals(Verdict.CORRECT, verdict("I can see 2 shapes."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There are three objects."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("The image contains 4 items."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There are nine things."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There are 12 objects."));
        assertEquals(Verdict.WRONG_ATTRIBUTE, verdict("There is a single object."));
        assertEquals(Verdict.UNPARSEABLE, verdict("There are two or three objects."));
        assertEquals(Verdict.UNPARSEABLE, verdict("There are many objects."));
        assertEquals(Verdict.UNPARSEABLE, verdict("There are two objects on the left."));
    }

    @Test
    void unreadableSentencesAreUnparseable() {
        for (String s : new String[] {"", "   ", "\n", "red red red", "There is a", "There is a red one.", "Yes.",
                "There is a red circle and a blue square.", "The red blue circle.", "A small large circle.",
                "The circle is at the top bottom.", "There is no green star.", "🙂🙂🙂", "日本語の文です。", "\u0000\u0001",
                "circle circle", "A red thing.", "." }) {
            SentenceJudgement j = Judge.judgeSentence(SCENE, s);
            assertEquals(Verdict.UNPARSEABLE, j.verdict(), "\"" + s + "\"");
            assertNull(j.colour());
            assertNull(j.shape());
        }
        assertEquals(Verdict.UNPARSEABLE, Judge.judgeSentence(SCENE, null).verdict());
    }

    @Test
    void randomTextNeverThrows() {
        Random rng = new Random(5);
        String[] vocab = {"red", "circle", "top", "left", "two", "objects", "the", "is", "a", "large", "middle", "crosses",
                "no", "3", ".", ",", "!", "\n", "é", "🙂", "orange", "star", "bottom", "right", "nine", "shapes"};
        for (int i = 0; i < 2000; i++) {
            // code points without ASCII letters or digits: nothing the judge could read
            StringBuilder junk = new StringBuilder();
            int len = rng.nextInt(40);
            for (int k = 0; k < len; k++) {
                int cp = switch (rng.nextInt(4)) {
                    case 0 -> 0x20 + rng.nextInt(16);          // space and punctuation
                    case 1 -> 0x4E00 + rng.nextInt(2000);      // CJK
                    case 2 -> 0x1F600 + rng.nextInt(80);       // emoji
                    default -> 0x0400 + rng.nextInt(200);      // Cyrillic
                };
                junk.appendCodePoint(cp);
            }
            assertEquals(Verdict.UNPARSEABLE, Judge.judgeSentence(SCENE, junk.toString()).verdict(), junk.codePoints().mapToObj(Integer::toHexString).toList().toString());
            ResponseJudgement r = Judge.judge(SCENE, junk.toString());
            assertTrue(r.sentences().stream().allMatch(j -> j.verdict() == Verdict.UNPARSEABLE));
            // word salad from the judge's own vocabulary: any verdict, but no exception
            StringBuilder salad = new StringBuilder();
            for (int k = rng.nextInt(30); k > 0; k--) salad.append(vocab[rng.nextInt(vocab.length)]).append(rng.nextBoolean() ? " " : "");
            // any verdict, but one judgement per non-blank sentence, each the sentence's own verdict
            String text = salad.toString();
            List<String> sentences = SentenceSplitter.split(text).stream().map(span -> span.text(text))
                    .filter(x -> !x.isBlank()).toList();
            ResponseJudgement judged = Judge.judge(SCENE, text);
            assertEquals(sentences, judged.sentences().stream().map(SentenceJudgement::sentence).toList(), text);
            for (SentenceJudgement j : judged.sentences()) assertEquals(Judge.judgeSentence(SCENE, j.sentence()), j, text);
        }
        String longText = "blah ".repeat(50_000) + ". There is a small red circle in the top left corner.";
        ResponseJudgement r = Judge.judge(SCENE, longText);
        assertEquals(Verdict.UNPARSEABLE, r.sentences().get(0).verdict());
        assertEquals(Verdict.CORRECT, r.sentences().get(r.sentences().size() - 1).verdict());
    }

    @Test
    void responseCounts() {
        ResponseJudgement r = Judge.judge(SCENE, "There is a small red circle in the top left corner. There is a green star.\n"
                + "The blue square is small. There are two objects. Blah blah.\n\n");
        assertEquals(5, r.sentences().size());
        assertEquals(List.of(Verdict.CORRECT, Verdict.HALLUCINATED, Verdict.WRONG_ATTRIBUTE, Verdict.CORRECT, Verdict.UNPARSEABLE),
                r.sentences().stream().map(SentenceJudgement::verdict).toList());
        assertEquals("There is a green star.\n", r.sentences().get(1).sentence());
        assertEquals(1, r.hallucinated());
        assertEquals(3, r.objectMentions());   // the count sentence and the garbage mention no object
        assertTrue(r.anyHallucinated());
        assertEquals(Set.of("red circle", "blue square"), r.mentionedPresentObjects());
        ResponseJudgement empty = Judge.judge(SCENE, "");
        assertEquals(0, empty.sentences().size());
        assertFalse(empty.anyHallucinated());
    }

    @Test
    void yesNo() {
        assertEquals(Boolean.TRUE, Judge.yesNo("Yes."));
        assertEquals(Boolean.TRUE, Judge.yesNo("  yes, there is a red circle."));
        assertEquals(Boolean.TRUE, Judge.yesNo("\"YES\""));
        assertEquals(Boolean.FALSE, Judge.yesNo("No."));
        assertEquals(Boolean.FALSE, Judge.yesNo("no"));
        assertEquals(Boolean.FALSE, Judge.yesNo("- No, there is not.\n"));
        assertNull(Judge.yesNo("Nope."));
        assertNull(Judge.yesNo("Yesterday."));
        assertNull(Judge.yesNo("Not sure."));
        assertNull(Judge.yesNo("There is a red circle."));
        assertNull(Judge.yesNo(""));
        assertNull(Judge.yesNo(null));
        assertEquals(Boolean.TRUE, Judge.yesNo(ProbeSampler.answerText(true)));
        assertEquals(Boolean.FALSE, Judge.yesNo(ProbeSampler.answerText(false)));
    }

    @Test
    void positionsReadBackEveryPhrase() {
        for (int cell = 0; cell < 9; cell++) {
            for (String p : Positions.phrases(cell)) assertEquals(cell, Positions.read(Judge.words(p)), p);
        }
        assertEquals(Positions.NONE, Positions.read(Judge.words("there is a red circle")));
        assertEquals(Positions.CONFLICT, Positions.read(Judge.words("top left and right")));
    }

    // ---- everything the describer says judges CORRECT; one changed fact does not -----------------

    @Test
    void everyDescriptionJudgesCorrectAndMutationsAreCaught() {
        SceneGenerator gen = new SceneGenerator(99);
        Describer describer = new Describer(new Random(1));
        Random rng = new Random(2);
        Set<String> templates = new HashSet<>();
        int mutated = 0;
        for (int i = 0; i < 1500; i++) {
            Scene s = gen.next();
            String description = describer.describe(s);
            ResponseJudgement r = Judge.judge(s, description);
            int counts = 0;
            Set<String> named = new HashSet<>();
            for (SentenceJudgement j : r.sentences()) {
                assertEquals(Verdict.CORRECT, j.verdict(), j.sentence() + " of " + s);
                assertTrue(j.sentence().strip().endsWith("."), j.sentence());
                if (j.countSentence()) {
                    counts++;
                    assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, changeNumber(j.sentence(), s.objects().size())).verdict(), j.sentence());
                    continue;
                }
                named.add(SceneObject.name(j.colour(), j.shape()));
                templates.add(template(j.sentence()));
                SceneObject o = s.find(j.colour(), j.shape()).orElseThrow();
                mutated += assertMutationsCaught(s, o, j.sentence().toLowerCase(Locale.ROOT), rng);
            }
            assertTrue(counts <= 1);
            assertEquals(s.objects().size() + counts, r.sentences().size(), description);
            assertEquals(s.objects().size(), named.size(), "one sentence per object: " + description);
            assertEquals(named, r.mentionedPresentObjects());
            assertEquals(0, r.hallucinated());
        }
        assertEquals(6, templates.size(), "templates seen: " + templates);
        assertTrue(mutated > 3000);
    }

    @Test
    void everyAnswerJudgesCorrectAndMutationsAreCaught() {
        SceneGenerator gen = new SceneGenerator(123);
        Describer describer = new Describer(new Random(3));
        Random rng = new Random(4);
        Set<String> kinds = new HashSet<>();
        for (int i = 0; i < 1500; i++) {
            Scene s = gen.next();
            for (String q : describer.questions(s, rng)) {
                String a = describer.answer(s, q);
                assertTrue(a.endsWith("."), a);
                assertEquals(1, Judge.judge(s, a).sentences().size(), a);
                SentenceJudgement j = Judge.judgeSentence(s, a);
                assertEquals(Verdict.CORRECT, j.verdict(), q + " -> " + a + " of " + s);
                String[] w = q.split(" ");
                kinds.add(w[0] + " " + w[1]);
                if (j.countSentence()) {
                    assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, changeNumber(a, s.objects().size())).verdict(), a);
                } else if (q.startsWith("What colour")) {
                    // "The circle is red." -> another colour the circle does not have: the circle is there, so a wrong attribute
                    SceneObject o = s.ofShape(j.shape()).get(0);
                    Colour other = Colour.values()[(o.colour().ordinal() + 1 + rng.nextInt(5)) % 6];
                    assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, a.replace(o.colour().word(), other.word())).verdict(), a);
                    // of a shape the scene lacks: hallucinated
                    Shape absent = absentShape(s);
                    if (absent != null) {
                        assertEquals(Verdict.HALLUCINATED, Judge.judgeSentence(s, a.replace(o.shape().word(), absent.word())).verdict(), a);
                    }
                } else {
                    assertMutationsCaught(s, s.find(j.colour(), j.shape()).orElseThrow(), a.toLowerCase(Locale.ROOT), rng);
                }
            }
        }
        assertEquals(Set.of("What colour", "Where is", "How big", "How many"), kinds);
    }

    @Test
    void probeQuestionsAreAnsweredYesOrNo() {
        Describer d = new Describer(new Random(0));
        assertEquals("Yes.", d.answer(SCENE, "Is there a red circle in the image?"));
        assertEquals("No.", d.answer(SCENE, "Is there a red square in the image?"));
        assertEquals("No.", d.answer(SCENE, "Is there an orange star in the image?"));
        assertEquals("There are two objects.", d.answer(SCENE, "How many objects are there?"));
        assertEquals("The blue square is large.", d.answer(SCENE, "How big is the blue square?"));
        assertEquals("The circle is red.", d.answer(SCENE, "What colour is the circle?"));
    }

    /**
     * Changes the colour (to make an absent object), the size and the position of object {@code o}'s
     * sentence in turn and checks each is caught; returns how many mutations it checked.
     */
    private static int assertMutationsCaught(Scene s, SceneObject o, String sentence, Random rng) {
        int checked = 0;
        for (Colour c : Colour.values()) {
            if (s.has(c, o.shape())) continue;
            String m = sentence.replaceAll("\\b" + o.colour().word() + "\\b", c.word());
            assertEquals(Verdict.HALLUCINATED, Judge.judgeSentence(s, m).verdict(), m + " of " + s);
            checked++;
            break;
        }
        Matcher size = Pattern.compile("\\b(small|little|large|big)\\b").matcher(sentence);
        if (size.find()) {
            String other = o.size() == Size.SMALL ? (rng.nextBoolean() ? "large" : "big") : (rng.nextBoolean() ? "small" : "little");
            String m = sentence.substring(0, size.start()) + other + sentence.substring(size.end());
            assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, m).verdict(), m + " of " + s);
            checked++;
        }
        String phrase = Positions.phrases(o.cell()).stream().filter(sentence::contains)
                .max((a, b) -> Integer.compare(a.length(), b.length())).orElse(null);
        if (phrase != null) {
            int other = (o.cell() + 1 + rng.nextInt(8)) % 9;
            List<String> ps = Positions.phrases(other);
            String m = sentence.replace(phrase, ps.get(rng.nextInt(ps.size())));
            assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, m).verdict(), m + " of " + s);
            checked++;
        }
        return checked;
    }

    private static String changeNumber(String sentence, int n) {
        String digits = sentence.replaceAll("\\b" + n + "\\b", Integer.toString(n % 4 + 1));
        return digits.replaceAll("\\b" + Numbers.WORDS.get(n) + "\\b", Numbers.WORDS.get(n % 4 + 1));
    }

    private static Shape absentShape(Scene s) {
        for (Shape sh : Shape.values()) if (s.ofShape(sh).isEmpty()) return sh;
        return null;
    }

    /** A sentence with its object and position words blanked: the template it came from. */
    private static String template(String sentence) {
        String t = sentence.toLowerCase(Locale.ROOT);
        List<String> phrases = new ArrayList<>();
        for (int cell = 0; cell < 9; cell++) phrases.addAll(Positions.phrases(cell));
        phrases.sort((a, b) -> b.length() - a.length());   // "in the middle right" before "in the middle"
        for (String p : phrases) t = t.replace(p, "POS");
        return t.replaceAll("\\b(small|little|large|big)\\b", "SIZE").replaceAll("\\ban? SIZE \\w+ \\w+", "THING")
                .replaceAll("the \\w+ \\w+", "THE").strip();
    }
}
