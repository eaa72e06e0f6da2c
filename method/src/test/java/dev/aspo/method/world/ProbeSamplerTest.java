package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProbeSamplerTest {
    @Test
    void yesProbesArePresentObjectsNoProbesAbsentOnes() {
        SceneGenerator gen = new SceneGenerator(5);
        List<Scene> scenes = new ArrayList<>();
        for (int i = 0; i < 500; i++) scenes.add(gen.next());
        ProbeSampler sampler = new ProbeSampler(ProbeSampler.frequencies(scenes));
        Random rng = new Random(6);
        Map<String, Integer> randomNoCounts = new HashMap<>();
        for (Scene s : scenes) {
            for (PopeSplit split : PopeSplit.values()) {
                List<Probe> probes = sampler.probes(s, split, rng);
                assertEquals(2 * s.objects().size(), probes.size());
                Set<String> yes = new HashSet<>(), no = new HashSet<>();
                for (Probe p : probes) {
                    assertEquals(split, p.split());
                    assertEquals(s.has(p.colour(), p.shape()), p.answer(), p.toString());
                    String article = p.colour() == Colour.ORANGE ? "an " : "a ";
                    assertEquals("Is there " + article + SceneObject.name(p.colour(), p.shape()) + " in the image?", p.question());
                    assertEquals(ProbeSampler.answerText(p.answer()), new Describer(rng).answer(s, p.question()));
                    assertTrue((p.answer() ? yes : no).add(SceneObject.name(p.colour(), p.shape())), "asked twice: " + p);
                    if (!p.answer() && split == PopeSplit.RANDOM) randomNoCounts.merge(SceneObject.name(p.colour(), p.shape()), 1, Integer::sum);
                }
                assertEquals(s.objects().stream().map(SceneObject::name).collect(java.util.stream.Collectors.toSet()), yes);
                assertEquals(s.objects().size(), no.size());
            }
        }
        assertTrue(randomNoCounts.size() >= 30, "random no-probes spread over the absent objects: " + randomNoCounts.size());
    }

    @Test
    void popularAsksAboutTheMostFrequentAbsentObjects() {
        Map<String, Integer> freq = new HashMap<>();
        freq.put("red circle", 100);    // present below: never a no-probe
        freq.put("green star", 90);
        freq.put("blue cross", 80);
        freq.put("yellow square", 70);
        Scene s = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.TRIANGLE, Colour.PURPLE, Size.LARGE, 5)));
        List<Probe> probes = new ProbeSampler(freq).probes(s, PopeSplit.POPULAR, new Random(1));
        assertEquals(Set.of("green star", "blue cross"), noNames(probes));
    }

    @Test
    void adversarialAsksAboutObjectsSharingShapeOrColour() {
        Map<String, Integer> freq = Map.of("green star", 1000, "red square", 5, "orange circle", 3);
        Scene s = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.TRIANGLE, Colour.PURPLE, Size.LARGE, 5)));
        ProbeSampler sampler = new ProbeSampler(freq);
        Random rng = new Random(2);
        // the popular green star shares nothing with the scene: adversarial prefers confusable ones, most frequent first
        assertEquals(Set.of("red square", "orange circle"), noNames(sampler.probes(s, PopeSplit.ADVERSARIAL, rng)));
        for (int i = 0; i < 50; i++) {
            for (Probe p : sampler.probes(s, PopeSplit.ADVERSARIAL, rng)) {
                if (!p.answer()) assertTrue(p.shape() == Shape.CIRCLE || p.shape() == Shape.TRIANGLE
                        || p.colour() == Colour.RED || p.colour() == Colour.PURPLE, p.toString());
            }
        }
        assertTrue(ProbeSampler.confusable(s, new SceneObject(Shape.STAR, Colour.RED, Size.SMALL, 0)));
        assertFalse(ProbeSampler.confusable(s, new SceneObject(Shape.STAR, Colour.GREEN, Size.SMALL, 0)));
    }

    @Test
    void answerText() {
        assertEquals("Yes.", ProbeSampler.answerText(true));
        assertEquals("No.", ProbeSampler.answerText(false));
        assertEquals("adversarial", PopeSplit.ADVERSARIAL.key());
    }

    private static Set<String> noNames(List<Probe> probes) {
        Set<String> out = new HashSet<>();
        for (Probe p : probes) if (!p.answer()) out.add(SceneObject.name(p.colour(), p.shape()));
        return out;
    }
}
