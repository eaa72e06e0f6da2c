package dev.aspo.method.world;

import dev.aspo.method.sentences.SentenceSplitter;
import dev.aspo.method.sentences.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Exact hallucination judgement against a scene's ground truth, one sentence at a time.
 *
 * <p>A sentence is read as words (lower case, split at anything not a letter or digit):
 * <pre>
 *   shape word (circle(s), ..., cross(es))    the object; two shape words -> UNPARSEABLE
 *   colour word before it  ("a red circle")   names the object red circle: absent -> HALLUCINATED
 *   colour word after it   ("The circle is red.")  a colour stated of the circle: no circle ->
 *                                             HALLUCINATED, a circle of another colour -> WRONG_ATTRIBUTE
 *   no colour              ("There is a circle.")  any object of that shape
 *   small/little/tiny, large/big/huge         a size;  top/upper/bottom/lower/left/right/middle/
 *                                             centre/center: a cell ({@link Positions#read})
 *   stated size or cell not the object's      WRONG_ATTRIBUTE; all true -> CORRECT
 *   no shape or colour, a count noun (objects, shapes, items, things) and a number (digits or
 *   one..nine): a count sentence, CORRECT when the number is the scene's object count, else WRONG_ATTRIBUTE
 * </pre>
 * Anything else is UNPARSEABLE: no shape, a colour without a shape, two colours, contradicting
 * sizes or positions, a negation ("There is no red circle.", which states no object), a count
 * sentence without a number or with a size or position. The judge never throws on any text.
 */
public final class Judge {
    private static final Set<String> COUNT_NOUNS = Set.of("object", "objects", "shape", "shapes", "item", "items", "thing", "things");
    private static final Set<String> NEGATIONS = Set.of("no", "not", "never", "none", "nothing", "without", "isn", "aren", "don", "doesn", "cannot");

    private Judge() {
    }

    /** Judges one sentence (surrounding whitespace and a newline are fine); never throws. */
    public static SentenceJudgement judgeSentence(Scene s, String sentence) {
        String text = sentence == null ? "" : sentence;
        List<String> words = words(text);
        List<Integer> shapeAt = new ArrayList<>(), colourAt = new ArrayList<>();
        List<Shape> shapes = new ArrayList<>();
        List<Colour> colours = new ArrayList<>();
        List<Integer> numbers = new ArrayList<>();
        boolean countNoun = false, negated = false, small = false, large = false;
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            Shape sh = shape(w);
            if (sh != null) {
                shapes.add(sh);
                shapeAt.add(i);
            }
            Colour c = colour(w);
            if (c != null) {
                colours.add(c);
                colourAt.add(i);
            }
            int n = Numbers.read(w);
            if (n >= 0) numbers.add(n);
            countNoun |= COUNT_NOUNS.contains(w);
            negated |= NEGATIONS.contains(w);
            small |= w.equals("small") || w.equals("little") || w.equals("tiny");
            large |= w.equals("large") || w.equals("big") || w.equals("huge");
        }
        int cell = Positions.read(words);
        if (negated || (small && large) || cell == Positions.CONFLICT || shapes.size() > 1 || colours.size() > 1) {
            return unparseable(text);
        }
        Size size = small ? Size.SMALL : large ? Size.LARGE : null;
        if (shapes.isEmpty()) {
            boolean plainCount = colours.isEmpty() && countNoun && size == null && cell == Positions.NONE;
            if (!plainCount || numbers.isEmpty() || numbers.stream().distinct().count() > 1) return unparseable(text);
            Verdict v = numbers.get(0) == s.objects().size() ? Verdict.CORRECT : Verdict.WRONG_ATTRIBUTE;
            return new SentenceJudgement(text, v, null, null, true);
        }
        Shape shape = shapes.get(0);
        List<SceneObject> ofShape = s.ofShape(shape);
        if (!colours.isEmpty()) {
            Colour colour = colours.get(0);
            Optional<SceneObject> named = s.find(colour, shape);
            if (named.isPresent()) return judged(text, named.get(), size, cell);
            boolean colourNamesObject = colourAt.get(0) < shapeAt.get(0);
            if (colourNamesObject || ofShape.isEmpty()) return new SentenceJudgement(text, Verdict.HALLUCINATED, colour, shape, false);
            // "The circle is red." of a scene whose circle is blue: the circle is there, its colour is wrong
            return new SentenceJudgement(text, Verdict.WRONG_ATTRIBUTE, ofShape.size() == 1 ? ofShape.get(0).colour() : null, shape, false);
        }
        if (ofShape.isEmpty()) return new SentenceJudgement(text, Verdict.HALLUCINATED, null, shape, false);
        List<SceneObject> fitting = ofShape.stream().filter(o -> fits(o, size, cell)).toList();
        List<SceneObject> about = fitting.isEmpty() ? ofShape : fitting;
        Colour colour = about.size() == 1 ? about.get(0).colour() : null;
        return new SentenceJudgement(text, fitting.isEmpty() ? Verdict.WRONG_ATTRIBUTE : Verdict.CORRECT, colour, shape, false);
    }

    /**
     * Splits a response into sentences ({@link SentenceSplitter}) and judges every non-blank one;
     * the judgements keep each sentence's text as split (with its trailing whitespace).
     */
    public static ResponseJudgement judge(Scene s, String response) {
        String text = response == null ? "" : response;
        List<SentenceJudgement> out = new ArrayList<>();
        for (Span span : SentenceSplitter.split(text)) {
            String sentence = span.text(text);
            if (!sentence.isBlank()) out.add(judgeSentence(s, sentence));
        }
        return new ResponseJudgement(out);
    }

    /**
     * A yes/no answer: TRUE when it starts with "yes", FALSE with "no" (as whole words, any case,
     * after any leading whitespace or punctuation), null otherwise ("Nope", "Maybe", "").
     */
    public static Boolean yesNo(String answer) {
        if (answer == null) return null;
        int i = 0;
        while (i < answer.length() && !Character.isLetterOrDigit(answer.charAt(i))) i++;
        String rest = answer.substring(i).toLowerCase(Locale.ROOT);
        if (startsWithWord(rest, "yes")) return Boolean.TRUE;
        if (startsWithWord(rest, "no")) return Boolean.FALSE;
        return null;
    }

    private static boolean startsWithWord(String text, String word) {
        return text.startsWith(word) && (text.length() == word.length() || !Character.isLetterOrDigit(text.charAt(word.length())));
    }

    private static SentenceJudgement judged(String text, SceneObject o, Size size, int cell) {
        Verdict v = fits(o, size, cell) ? Verdict.CORRECT : Verdict.WRONG_ATTRIBUTE;
        return new SentenceJudgement(text, v, o.colour(), o.shape(), false);
    }

    /** Whether the stated size and cell (either may be unstated) are the object's. */
    private static boolean fits(SceneObject o, Size size, int cell) {
        return (size == null || size == o.size()) && (cell == Positions.NONE || cell == o.cell());
    }

    private static SentenceJudgement unparseable(String text) {
        return new SentenceJudgement(text, Verdict.UNPARSEABLE, null, null, false);
    }

    static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) if (!w.isEmpty()) words.add(w);
        return words;
    }

    private static Shape shape(String w) {
        for (Shape s : Shape.values()) if (w.equals(s.word()) || w.equals(s.plural())) return s;
        return null;
    }

    private static Colour colour(String w) {
        for (Colour c : Colour.values()) if (w.equals(c.word())) return c;
        return null;
    }
}
