package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The CLIP scorer's hard negatives: each foil changes exactly what its kind says, and the judge finds every one wrong. */
class FoilsTest {
    /** What differs between a fact's object and its foil's, as the kinds name it. */
    private static Set<Foils.Kind> differences(SceneObject a, SceneObject b) {
        Set<Foils.Kind> d = new HashSet<>();
        if (a.colour() != b.colour()) d.add(Foils.Kind.COLOUR);
        if (a.shape() != b.shape()) d.add(Foils.Kind.SHAPE);
        if (a.size() != b.size()) d.add(Foils.Kind.SIZE);
        if (a.cell() != b.cell()) d.add(Foils.Kind.PLACE);
        return d;
    }

    @Test
    void everyFoilChangesExactlyItsAttributeAndTheJudgeFindsItWrong() {
        SceneGenerator gen = new SceneGenerator(5);
        Random rng = new Random(9);
        Foils foils = new Foils(new Describer(rng), rng);
        Map<Foils.Kind, Integer> seen = new EnumMap<>(Foils.Kind.class);
        for (int i = 0; i < 2000; i++) {
            Scene s = gen.next();
            Foils.Fact fact = foils.fact(s);
            assertEquals(Verdict.CORRECT, Judge.judgeSentence(s, fact.text()).verdict(), fact.text() + " of " + s);
            for (Foils.Foil f : foils.foils(s, fact, 5)) {
                seen.merge(f.kind(), 1, Integer::sum);
                assertNotEquals(Verdict.CORRECT, Judge.judgeSentence(s, f.text()).verdict(), f.kind() + " foil " + f.text() + " of " + s);
                switch (f.kind()) {
                    case COUNT -> {
                        assertNull(fact.object());
                        assertNull(f.object());
                        assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, f.text()).verdict(), f.text());
                    }
                    case ABSENT -> {
                        assertTrue(s.find(f.object().colour(), f.object().shape()).isEmpty(), f.text() + " names a present object");
                        assertEquals(Verdict.HALLUCINATED, Judge.judgeSentence(s, f.text()).verdict(), f.text());
                    }
                    default -> assertEquals(Set.of(f.kind()), differences(fact.object(), f.object()), f.text() + " vs " + fact.text());
                }
            }
        }
        assertEquals(Set.of(Foils.Kind.values()), seen.keySet(), "every kind occurs");
    }

    @Test
    void aboutHalfTheFoilsBindAnotherObjectsAttributeWhereTheSceneHasOne() {
        Scene s = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.TRIANGLE, Colour.PURPLE, Size.LARGE, 5)));
        Random rng = new Random(3);
        Foils foils = new Foils(new Describer(rng), rng);
        SceneObject circle = s.objects().get(0);
        Map<Foils.Kind, Integer> binding = new EnumMap<>(Foils.Kind.class);
        int n = 2000;
        for (int i = 0; i < n; i++) {
            for (Foils.Kind k : List.of(Foils.Kind.COLOUR, Foils.Kind.SHAPE, Foils.Kind.PLACE, Foils.Kind.ABSENT)) {
                SceneObject f = foils.foil(s, circle, k).object();
                boolean bound = switch (k) {
                    case COLOUR -> f.colour() == Colour.PURPLE;                              // the triangle's colour
                    case SHAPE -> f.shape() == Shape.TRIANGLE;                               // the triangle's shape
                    case PLACE -> f.cell() == 5;                                             // the triangle's cell
                    default -> f.colour() == Colour.RED && f.shape() == Shape.TRIANGLE
                            || f.colour() == Colour.PURPLE && f.shape() == Shape.CIRCLE;     // colours and shapes swapped
                };
                if (bound) binding.merge(k, 1, Integer::sum);
            }
        }
        // half are binding foils, and the random half hits the other object's value by chance too
        // (colour 1 of 5 others, shape 1 of 5, cell 1 of 8, absent pair 2 of 34)
        Map<Foils.Kind, Double> chance = Map.of(Foils.Kind.COLOUR, 0.2, Foils.Kind.SHAPE, 0.2, Foils.Kind.PLACE, 0.125, Foils.Kind.ABSENT, 2.0 / 34);
        for (var e : chance.entrySet()) {
            double expected = 0.5 + 0.5 * e.getValue(), seen = binding.getOrDefault(e.getKey(), 0) / (double) n;
            assertEquals(expected, seen, 0.05, e.getKey() + " foils that bind the other object's attribute");
        }
    }

    @Test
    void anObjectSentenceGetsDistinctKindsAndACountSentenceOneCountFoil() {
        Scene s = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.SQUARE, Colour.BLUE, Size.LARGE, 4)));
        Random rng = new Random(1);
        Foils foils = new Foils(new Describer(rng), rng);
        Foils.Fact circle = new Foils.Fact("There is a small red circle in the top left corner.", s.objects().get(0));
        List<Foils.Foil> five = foils.foils(s, circle, 5);
        assertEquals(Set.of(Foils.Kind.COLOUR, Foils.Kind.SHAPE, Foils.Kind.SIZE, Foils.Kind.PLACE, Foils.Kind.ABSENT),
                new HashSet<>(five.stream().map(Foils.Foil::kind).toList()));
        assertEquals(2, foils.foils(s, circle, 2).size());
        List<Foils.Foil> count = foils.foils(s, new Foils.Fact("There are two objects.", null), 3);
        assertEquals(1, count.size());
        assertEquals(Foils.Kind.COUNT, count.get(0).kind());
        assertEquals(Verdict.WRONG_ATTRIBUTE, Judge.judgeSentence(s, count.get(0).text()).verdict(), count.get(0).text());
    }
}
