package dev.aspo.method.world;

import java.util.Objects;

/**
 * One object of a scene: a coloured shape of a size in one cell of the 3x3 grid.
 *
 * <pre>
 *   cell:  0 1 2
 *          3 4 5      row-major, 0 = top left, 8 = bottom right
 *          6 7 8
 * </pre>
 */
public record SceneObject(Shape shape, Colour colour, Size size, int cell) {
    public SceneObject {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(colour, "colour");
        Objects.requireNonNull(size, "size");
        if (cell < 0 || cell > 8) throw new IllegalArgumentException("cell must be 0..8, got " + cell);
    }

    /** The object's identity for CHAIR and POPE: colour + shape, e.g. "red circle". */
    public String name() {
        return name(colour, shape);
    }

    /** "red circle" for RED, CIRCLE. */
    public static String name(Colour colour, Shape shape) {
        return colour.word() + " " + shape.word();
    }
}
