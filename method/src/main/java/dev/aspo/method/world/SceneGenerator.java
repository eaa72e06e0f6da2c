package dev.aspo.method.world;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Random scenes: 1-4 objects (uniformly), each in its own cell, no two with the same colour and
 * shape (so "the red circle" always names one object and the judge is unambiguous). The same seed
 * gives the same sequence of scenes.
 */
public final class SceneGenerator {
    public static final int MAX_OBJECTS = 4;

    private final Random rng;

    public SceneGenerator(long seed) {
        this.rng = new Random(seed);
    }

    public Scene next() {
        int count = 1 + rng.nextInt(MAX_OBJECTS);
        List<Integer> cells = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8));
        java.util.Collections.shuffle(cells, rng);
        Set<String> names = new HashSet<>();
        List<SceneObject> objects = new ArrayList<>();
        while (objects.size() < count) {
            Shape shape = Shape.values()[rng.nextInt(Shape.values().length)];
            Colour colour = Colour.values()[rng.nextInt(Colour.values().length)];
            Size size = Size.values()[rng.nextInt(Size.values().length)];
            if (!names.add(SceneObject.name(colour, shape))) continue;   // redraw a duplicate colour+shape
            objects.add(new SceneObject(shape, colour, size, cells.get(objects.size())));
        }
        return new Scene(objects);
    }
}
