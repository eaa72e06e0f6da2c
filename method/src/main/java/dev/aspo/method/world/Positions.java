package dev.aspo.method.world;

import java.util.List;

/**
 * The words for the nine cells, both ways: the phrases the describer says and the reading the
 * judge makes of any of them.
 *
 * <pre>
 *   top/upper + left     top/upper (+ middle/centre)      top/upper + right
 *   left (+ middle)      centre/center/middle             right (+ middle)
 *   bottom/lower + left  bottom/lower (+ middle/centre)   bottom/lower + right
 * </pre>
 *
 * Reading: "top"/"upper" fix row 0, "bottom"/"lower" row 2, "left" column 0, "right" column 2; a
 * direction not named is the middle one (so "at the top" is cell 1 and "in the middle" cell 4).
 */
public final class Positions {
    /** No position is stated. */
    public static final int NONE = -1;
    /** Contradicting words ("top ... bottom"): the position cannot be read. */
    public static final int CONFLICT = -2;

    private static final List<List<String>> PHRASES = List.of(
            List.of("in the top left corner", "at the top left", "in the upper left"),
            List.of("at the top", "in the top middle", "in the upper centre"),
            List.of("in the top right corner", "at the top right", "in the upper right"),
            List.of("on the left", "in the middle left", "at the left side"),
            List.of("in the centre", "in the middle", "at the center"),
            List.of("on the right", "in the middle right", "at the right side"),
            List.of("in the bottom left corner", "at the bottom left", "in the lower left"),
            List.of("at the bottom", "in the bottom middle", "in the lower centre"),
            List.of("in the bottom right corner", "at the bottom right", "in the lower right"));

    private Positions() {
    }

    /** The phrases the describer uses for a cell, e.g. "in the top left corner" (lower case, no trailing dot). */
    public static List<String> phrases(int cell) {
        if (cell < 0 || cell > 8) throw new IllegalArgumentException("cell must be 0..8, got " + cell);
        return PHRASES.get(cell);
    }

    /**
     * The cell that lower-case {@code words} state, {@link #NONE} when they name no position, or
     * {@link #CONFLICT} when they name two rows or two columns.
     */
    public static int read(List<String> words) {
        int row = -1, col = -1;
        boolean middle = false;
        for (String w : words) {
            int r = -1, c = -1;
            switch (w) {
                case "top", "upper" -> r = 0;
                case "bottom", "lower" -> r = 2;
                case "left" -> c = 0;
                case "right" -> c = 2;
                case "middle", "centre", "center", "central" -> middle = true;
                default -> {
                }
            }
            if (r >= 0) {
                if (row >= 0 && row != r) return CONFLICT;
                row = r;
            }
            if (c >= 0) {
                if (col >= 0 && col != c) return CONFLICT;
                col = c;
            }
        }
        if (row < 0 && col < 0 && !middle) return NONE;
        return 3 * (row < 0 ? 1 : row) + (col < 0 ? 1 : col);
    }
}
