package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SceneGeneratorTest {
    @Test
    void scenesKeepTheInvariants() {
        SceneGenerator gen = new SceneGenerator(7);
        int[] byCount = new int[5];
        Set<Integer> cellsSeen = new HashSet<>();
        for (int i = 0; i < 3000; i++) {
            Scene s = gen.next();
            int n = s.objects().size();
            assertTrue(n >= 1 && n <= 4, "object count " + n);
            byCount[n]++;
            Set<Integer> cells = new HashSet<>();
            Set<String> names = new HashSet<>();
            for (SceneObject o : s.objects()) {
                assertTrue(cells.add(o.cell()), "two objects in cell " + o.cell() + ": " + s);
                assertTrue(names.add(o.name()), "two " + o.name() + "s: " + s);
                cellsSeen.add(o.cell());
            }
        }
        for (int n = 1; n <= 4; n++) assertTrue(byCount[n] > 600, "counts 1..4 about equally often: " + java.util.Arrays.toString(byCount));
        assertEquals(9, cellsSeen.size());
    }

    @Test
    void sameSeedSameScenesOtherSeedOtherScenes() {
        assertEquals(scenes(42, 50), scenes(42, 50));
        assertNotEquals(scenes(42, 50), scenes(43, 50));
    }

    @Test
    void jsonRoundTrip() throws Exception {
        Scene s = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 4),
                new SceneObject(Shape.CROSS, Colour.ORANGE, Size.LARGE, 8)));
        String json = s.toJson().toString();
        assertEquals("{\"objects\":[{\"shape\":\"circle\",\"colour\":\"red\",\"size\":\"small\",\"cell\":4},"
                + "{\"shape\":\"cross\",\"colour\":\"orange\",\"size\":\"large\",\"cell\":8}]}", json);
        assertEquals(s, Scene.fromJson(new ObjectMapper().readTree(json)));
        for (Scene g : scenes(3, 100)) assertEquals(g, Scene.fromJson(g.toJson()));
    }

    @Test
    void badJsonNamesTheProblem() throws Exception {
        ObjectMapper m = new ObjectMapper();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Scene.fromJson(m.readTree("{\"objects\":[{\"shape\":\"blob\",\"colour\":\"red\",\"size\":\"small\",\"cell\":1}]}")));
        assertTrue(e.getMessage().contains("blob"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Scene.fromJson(m.readTree("{}")));
        assertThrows(IllegalArgumentException.class,
                () -> Scene.fromJson(m.readTree("{\"objects\":[{\"shape\":\"star\",\"colour\":\"red\",\"size\":\"small\",\"cell\":9}]}")));
    }

    @Test
    void nameIsColourThenShape() {
        assertEquals("purple diamond", new SceneObject(Shape.DIAMOND, Colour.PURPLE, Size.LARGE, 0).name());
        assertEquals("crosses", Shape.CROSS.plural());
    }

    private static List<Scene> scenes(long seed, int n) {
        SceneGenerator g = new SceneGenerator(seed);
        List<Scene> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(g.next());
        return out;
    }
}
