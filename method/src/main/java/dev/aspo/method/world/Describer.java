package dev.aspo.method.world;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The ground-truth text of a scene: descriptions (one fact per sentence), answers to attribute
 * questions, and the questions themselves. Everything it says, {@link Judge} reads back as CORRECT.
 *
 * <pre>
 *   description = [count sentence] object sentences in reading order [count sentence]
 *   object sentence: one of 6 templates, with colour + shape + size + position, e.g.
 *     "There is a small red circle in the top left corner."
 *     "At the bottom, there is a large blue star."
 *   count sentence (half of the time, first or last): "There are three objects." / "I can see 2 shapes."
 * </pre>
 */
public final class Describer {
    /** The prompts that ask for a description. */
    public static final List<String> DESCRIBE_INSTRUCTIONS = List.of("Describe the image.",
            "What do you see in the picture?", "Describe what is in this image.", "What is in the image?",
            "Tell me about the objects in the picture.");

    private static final Pattern WHAT_COLOUR = Pattern.compile("What colou?r is the (\\w+)\\?");
    private static final Pattern WHERE = Pattern.compile("Where is the (\\w+) (\\w+)\\?");
    private static final Pattern HOW_BIG = Pattern.compile("How big is the (\\w+) (\\w+)\\?");
    private static final Pattern IS_THERE = Pattern.compile("Is there an? (\\w+) (\\w+) in the (?:image|picture)\\?");
    private static final String HOW_MANY = "How many objects are there?";
    private static final Pattern WHAT_IS_AT = Pattern.compile("What is (.+)\\?");
    /** The answer to a place question about an empty cell. */
    public static final String NOTHING = "Nothing.";

    private final Random rng;
    private final boolean placeFirst;

    public Describer(Random rng) {
        this(rng, false);
    }

    /**
     * With {@code placeFirst} object sentences name the place before the object ("In the top left,
     * there is a small red circle.", two of the six templates): a compact decoder that has named a
     * cell need only read that cell's patch for the object, instead of finding the next object
     * before it writes its first word.
     */
    public Describer(Random rng, boolean placeFirst) {
        this.rng = rng;
        this.placeFirst = placeFirst;
    }

    /**
     * A multi-sentence description: one object per sentence, random phrasing, maybe a count. The
     * objects come in reading order (top left to bottom right), as a person would list them: with a
     * random order the next object is a guess, and a compact model learns to look at the image far
     * more slowly (measured: no grounding after 3000 SFT steps with shuffled objects).
     */
    public String describe(Scene s) {
        List<SceneObject> objects = new ArrayList<>(s.objects());
        objects.sort(java.util.Comparator.comparingInt(SceneObject::cell));
        List<String> sentences = new ArrayList<>();
        for (SceneObject o : objects) sentences.add(objectSentence(o));
        int countAt = rng.nextInt(4);   // 0: first, 1: last, else none
        if (countAt == 0) sentences.add(0, countSentence(s.objects().size()));
        if (countAt == 1) sentences.add(countSentence(s.objects().size()));
        return String.join(" ", sentences);
    }

    /** One sentence stating {@code o}'s size, colour, shape and place, in one of the six templates at random. */
    public String objectSentence(SceneObject o) {
        String size = sizeWord(o.size());
        String thing = size + " " + o.colour().word() + " " + o.shape().word();
        String where = pick(Positions.phrases(o.cell()));
        int template = placeFirst ? (rng.nextBoolean() ? 2 : 5) : rng.nextInt(6);
        return switch (template) {
            case 0 -> "There is " + article(size) + " " + thing + " " + where + ".";
            case 1 -> capitalise(article(size)) + " " + thing + " is " + where + ".";
            case 2 -> capitalise(where) + ", there is " + article(size) + " " + thing + ".";
            case 3 -> "I can see " + article(size) + " " + thing + " " + where + ".";
            case 4 -> "The " + o.colour().word() + " " + o.shape().word() + " " + where + " is " + size + ".";
            default -> capitalise(where) + " you can see " + article(size) + " " + thing + ".";
        };
    }

    private String sizeWord(Size size) {
        return size == Size.SMALL ? pick(List.of("small", "small", "little")) : pick(List.of("large", "large", "big"));
    }

    /** One sentence stating that the scene holds {@code n} objects, in one of three phrasings. */
    public String countSentence(int n) {
        String num = rng.nextBoolean() ? Numbers.WORDS.get(n) : Integer.toString(n);
        String noun = rng.nextBoolean() ? "object" : "shape";
        String nouns = n == 1 ? noun : noun + "s";
        return switch (rng.nextInt(3)) {
            case 0 -> (n == 1 ? "There is " : "There are ") + num + " " + nouns + ".";
            case 1 -> "I can see " + num + " " + nouns + ".";
            default -> "The image contains " + num + " " + nouns + ".";
        };
    }

    /**
     * Attribute questions with unambiguous answers, in random order: "What colour is the circle?"
     * (only for a shape the scene has once), "Where is the red circle?", "How big is the red
     * circle?" for every object, and "How many objects are there?".
     */
    public List<String> questions(Scene s, Random rng) {
        List<String> qs = new ArrayList<>();
        for (SceneObject o : s.objects()) {
            if (s.ofShape(o.shape()).size() == 1) qs.add("What colour is the " + o.shape().word() + "?");
            qs.add("Where is the " + o.name() + "?");
            qs.add("How big is the " + o.name() + "?");
        }
        qs.add(HOW_MANY);
        Collections.shuffle(qs, rng);
        return qs;
    }

    /**
     * A question about one cell, "What is in the top left corner?", half of the time about an
     * occupied cell (answered "A small red circle.") and else about an empty one ("Nothing."):
     * the lookup from a place to what is there, which a description needs at every object.
     */
    public String placeQuestion(Scene s, Random rng) {
        List<Integer> occupied = new ArrayList<>(), empty = new ArrayList<>();
        for (int c = 0; c < 9; c++) (cellObject(s, c) != null ? occupied : empty).add(c);
        List<Integer> from = empty.isEmpty() || rng.nextBoolean() ? occupied : empty;
        return "What is " + pick(Positions.phrases(from.get(rng.nextInt(from.size())))) + "?";
    }

    private static SceneObject cellObject(Scene s, int cell) {
        for (SceneObject o : s.objects()) if (o.cell() == cell) return o;
        return null;
    }

    /**
     * The one-sentence answer to a question of {@link #questions} (or a probe question "Is there a
     * red circle in the image?", answered "Yes." / "No."). Position answers use a random phrasing.
     */
    public String answer(Scene s, String question) {
        String q = question.strip();
        if (q.equals(HOW_MANY)) {
            int n = s.objects().size();
            return n == 1 ? "There is one object." : "There are " + Numbers.WORDS.get(n) + " objects.";
        }
        Matcher m = WHAT_COLOUR.matcher(q);
        if (m.matches()) {
            Shape shape = shape(m.group(1), question);
            List<SceneObject> found = s.ofShape(shape);
            if (found.size() != 1) throw new IllegalArgumentException("\"" + question + "\" has no single answer: the scene has " + found.size() + " " + shape.plural());
            return "The " + shape.word() + " is " + found.get(0).colour().word() + ".";
        }
        if ((m = IS_THERE.matcher(q)).matches()) {
            return ProbeSampler.answerText(s.has(colour(m.group(1), question), shape(m.group(2), question)));
        }
        boolean where = (m = WHERE.matcher(q)).matches();
        if (where || (m = HOW_BIG.matcher(q)).matches()) {
            Colour c = colour(m.group(1), question);
            Shape sh = shape(m.group(2), question);
            SceneObject o = s.find(c, sh).orElseThrow(() -> new IllegalArgumentException("\"" + question + "\": the scene has no " + SceneObject.name(c, sh)));
            return "The " + o.name() + " is " + (where ? pick(Positions.phrases(o.cell())) : o.size().word()) + ".";
        }
        if ((m = WHAT_IS_AT.matcher(q)).matches()) {
            int cell = Positions.read(Judge.words(m.group(1)));
            if (cell < 0) throw new IllegalArgumentException("\"" + question + "\" names no place");
            SceneObject o = cellObject(s, cell);
            if (o == null) return NOTHING;
            String size = o.size().word();
            return capitalise(article(size)) + " " + size + " " + o.colour().word() + " " + o.shape().word() + ".";
        }
        throw new IllegalArgumentException("not a question the describer answers: \"" + question + "\"");
    }

    private static Shape shape(String word, String question) {
        for (Shape s : Shape.values()) if (s.word().equals(word)) return s;
        throw new IllegalArgumentException("unknown shape \"" + word + "\" in \"" + question + "\"");
    }

    private static Colour colour(String word, String question) {
        for (Colour c : Colour.values()) if (c.word().equals(word)) return c;
        throw new IllegalArgumentException("unknown colour \"" + word + "\" in \"" + question + "\"");
    }

    private String pick(List<String> options) {
        return options.get(rng.nextInt(options.size()));
    }

    private static String article(String next) {
        return "aeiou".indexOf(next.charAt(0)) >= 0 ? "an" : "a";
    }

    private static String capitalise(String s) {
        return s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}
