package dev.aspo.method.world;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * POPE probes for a scene: one yes-probe per present object and as many no-probes about absent
 * colour + shape combinations, chosen by the split:
 *
 * <pre>
 *   RANDOM       uniformly among the absent objects
 *   POPULAR      the absent objects most frequent in the training scenes (ties in random order)
 *   ADVERSARIAL  absent objects sharing the shape or the colour of a present object, most frequent
 *                first; when there are too few of them, the most popular other absent objects
 * </pre>
 *
 * The probes come in random order.
 */
public final class ProbeSampler {
    private final Map<String, Integer> frequency;

    /** {@code objectFrequency}: "red circle" -> how often it occurs in the training scenes (missing = 0). */
    public ProbeSampler(Map<String, Integer> objectFrequency) {
        this.frequency = Map.copyOf(objectFrequency);
    }

    /** How often each object ("red circle") occurs in the scenes. */
    public static Map<String, Integer> frequencies(Iterable<Scene> scenes) {
        Map<String, Integer> f = new HashMap<>();
        for (Scene s : scenes) for (SceneObject o : s.objects()) f.merge(o.name(), 1, Integer::sum);
        return f;
    }

    public List<Probe> probes(Scene s, PopeSplit split, Random rng) {
        List<Probe> out = new ArrayList<>();
        for (SceneObject o : s.objects()) out.add(probe(o.colour(), o.shape(), true, split));
        List<SceneObject> absent = new ArrayList<>();   // colour + shape only; size and cell unused
        for (Colour c : Colour.values()) {
            for (Shape sh : Shape.values()) if (!s.has(c, sh)) absent.add(new SceneObject(sh, c, Size.SMALL, 0));
        }
        Collections.shuffle(absent, rng);   // random order among ties of the stable sorts below
        int k = Math.min(s.objects().size(), absent.size());
        List<SceneObject> chosen = switch (split) {
            case RANDOM -> absent.subList(0, k);
            case POPULAR -> byFrequency(absent).subList(0, k);
            case ADVERSARIAL -> {
                List<SceneObject> ranked = new ArrayList<>(byFrequency(absent));
                ranked.sort(Comparator.comparing(a -> confusable(s, a) ? 0 : 1));   // stable: keeps frequency order within
                yield ranked.subList(0, k);
            }
        };
        for (SceneObject a : chosen) out.add(probe(a.colour(), a.shape(), false, split));
        Collections.shuffle(out, rng);
        return out;
    }

    /** Whether an absent object shares the shape or the colour of an object of the scene. */
    public static boolean confusable(Scene s, SceneObject absent) {
        return s.objects().stream().anyMatch(o -> o.shape() == absent.shape() || o.colour() == absent.colour());
    }

    private List<SceneObject> byFrequency(List<SceneObject> objects) {
        List<SceneObject> sorted = new ArrayList<>(objects);
        sorted.sort(Comparator.comparing((SceneObject o) -> frequency.getOrDefault(o.name(), 0)).reversed());
        return sorted;
    }

    private static Probe probe(Colour c, Shape sh, boolean yes, PopeSplit split) {
        return new Probe(question(c, sh), yes, c, sh, split);
    }

    /** "Is there a red circle in the image?" ("an orange ..."). */
    public static String question(Colour c, Shape sh) {
        String article = c == Colour.ORANGE ? "an " : "a ";
        return "Is there " + article + SceneObject.name(c, sh) + " in the image?";
    }

    /** "Yes." or "No.". */
    public static String answerText(boolean yes) {
        return yes ? "Yes." : "No.";
    }
}
