package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aspo.method.world.Colour;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SceneObject;
import dev.aspo.method.world.Shape;
import dev.aspo.method.world.Size;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-scene units the paired statistics resample, worked by hand: one greedy description a
 * scene, and several sampled descriptions of one scene summed into one unit.
 */
class SceneUnitsTest {
    /** Scene 0: a small red circle top left, a large blue square in the centre. Scene 1: a large green star bottom right. */
    private static final Map<Integer, Scene> SCENES = new LinkedHashMap<>();

    static {
        SCENES.put(0, new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.SQUARE, Colour.BLUE, Size.LARGE, 4))));
        SCENES.put(1, new Scene(List.of(new SceneObject(Shape.STAR, Colour.GREEN, Size.LARGE, 8))));
    }

    private static String line(int scene, String answer) {
        return "{\"scene_id\": " + scene + ", \"answer\": \"" + answer + "\"}";
    }

    @Test
    void eachDescriptionOfAScenePoolsIntoThatScenesUnit(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("answers.jsonl");
        Files.write(f, List.of(
                // scene 0, first sample: right, right            -> 2 sentences, 0 wrong; 2 mentions, 0 hallucinated; recall 2
                line(0, "There is a small red circle in the top left corner. A large blue square is in the middle."),
                // scene 0, second sample: wrong size, hallucinated -> 2 sentences, 2 wrong (1 attribute); 2 mentions, 1 hallucinated; recall 1
                line(0, "There is a large red circle in the top left corner. There is a green star at the bottom."),
                // scene 1, one sample: right, unreadable           -> 2 sentences, 1 wrong; 1 mention, 0 hallucinated; recall 1
                line(1, "There is a large green star in the bottom right. There are many objects."),
                // a POPE answer of scene 1 (random split, truth yes, said yes): a true positive, no description
                "{\"scene_id\": 1, \"split\": \"random\", \"truth\": \"yes\", \"answer\": \"Yes.\"}"));
        Map<String, PairedStatistics.Units> u = SceneUnits.read(f, SCENES);
        assertUnits(u.get("sentence_error"), new double[] {2, 1}, new double[] {4, 2});
        assertUnits(u.get("chair_i"), new double[] {1, 0}, new double[] {4, 1});
        assertUnits(u.get("chair_s"), new double[] {1, 0}, new double[] {2, 1});
        assertUnits(u.get("recall"), new double[] {3, 1}, new double[] {4, 1});
        // attribute errors count sentences about a present object (or the count): the hallucinated and unreadable ones are not
        assertUnits(u.get("attribute_error"), new double[] {1, 0}, new double[] {3, 1});
        assertUnits(u.get("pope_random_f1"), new double[] {0, 2}, new double[] {0, 2});
    }

    @Test
    void oneDescriptionAScenePerScenesOrderGivesEvaluationsNumbers(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("answers.jsonl");
        List<String> answers = List.of("There is a small red circle in the top left corner. There is a green star at the bottom.",
                "There is a small green star in the bottom right.");
        Files.write(f, List.of(line(1, answers.get(1)), line(0, answers.get(0))));   // the file's order does not matter
        Map<String, PairedStatistics.Units> u = SceneUnits.read(f, SCENES);
        Map<String, Double> whole = Evaluation.descriptions(List.copyOf(SCENES.values()), answers);
        for (String k : SceneUnits.DESCRIPTION_METRICS) {
            PairedStatistics.Units x = u.get(k);
            double num = 0, den = 0;
            for (int i = 0; i < x.num().length; i++) {
                num += x.num()[i];
                den += x.den()[i];
            }
            assertEquals(whole.get(k), num / den, 1e-12, k);
        }
        assertEquals(2.0 / 3, whole.get("sentence_error"), 1e-12, "the green star at the bottom of scene 0 and the small star of scene 1 are wrong, of 3");
    }

    private static void assertUnits(PairedStatistics.Units u, double[] num, double[] den) {
        assertArrayEquals(num, u.num(), "numerators");
        assertArrayEquals(den, u.den(), "denominators");
    }
}
