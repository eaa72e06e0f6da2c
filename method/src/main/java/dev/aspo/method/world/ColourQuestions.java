package dev.aspo.method.world;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;

/**
 * The first stage of the study's SFT curriculum: "Is there a red object in the image?", one
 * question a scene whose answer is "yes" (a colour the scene holds) and one whose answer is "no" (a
 * colour it lacks), balanced as in SHAPES like {@link BalancedProbes}: each colour is asked about as
 * often with either answer (within a few over the whole world), so no answer can be told without the image.
 *
 * <p>Why colour alone: from an untrained compact LLaVA, the POPE probes ("Is there a red circle?")
 * never taught a lookup that depends on the question, and questions mixing colour and shape stayed at
 * chance; colour questions pass a plateau after about 1000-2500 steps, and the lookup they form carries
 * over to the probes (docs/RESULTS.md, "Why POPE does not ground").
 */
final class ColourQuestions {
    /** A colour question with its true answer. */
    record Question(String text, boolean answer, Colour colour) {
    }

    /** Per colour: yes-answers minus no-answers so far (a colour asked with "yes" is owed a "no"). */
    private final int[] owed = new int[Colour.values().length];

    /** "Is there a red object in the image?" ("an orange object"). */
    static String text(Colour c) {
        return "Is there " + (c == Colour.ORANGE ? "an " : "a ") + c.word() + " object in the image?";
    }

    /** The scene's yes-question, then its no-question; a scene that holds every colour gets only the first. */
    List<Question> next(Scene s, Random rng) {
        EnumSet<Colour> present = EnumSet.noneOf(Colour.class);
        for (SceneObject o : s.objects()) present.add(o.colour());
        List<Question> out = new ArrayList<>(2);
        if (present.isEmpty()) return out;
        // the yes-question: of the colours the scene holds, the one owed fewest "no"s; the no-question: of
        // those it lacks, the one owed most (ties at random). A colour present in many scenes would
        // otherwise collect more yes-answers than its absences can repay.
        Colour asked = pick(present, -1, rng);
        out.add(new Question(text(asked), true, asked));
        owed[asked.ordinal()]++;
        EnumSet<Colour> absent = EnumSet.complementOf(present);
        if (!absent.isEmpty()) {
            Colour no = pick(absent, 1, rng);
            owed[no.ordinal()]--;
            out.add(new Question(text(no), false, no));
        }
        return out;
    }

    /** Among {@code colours}, one whose debt times {@code sign} is largest, ties at random. */
    private Colour pick(EnumSet<Colour> colours, int sign, Random rng) {
        List<Colour> best = new ArrayList<>();
        for (Colour c : colours) {
            if (!best.isEmpty() && sign * owed[c.ordinal()] < sign * owed[best.get(0).ordinal()]) continue;
            if (!best.isEmpty() && sign * owed[c.ordinal()] > sign * owed[best.get(0).ordinal()]) best.clear();
            best.add(c);
        }
        return best.get(rng.nextInt(best.size()));
    }
}
