package dev.aspo.method.world;

import java.util.Locale;

/** The six shapes of the shapes world; {@link #word()} is the noun the describer and the judge use. */
public enum Shape {
    CIRCLE, SQUARE, TRIANGLE, DIAMOND, STAR, CROSS;

    /** The singular noun: "circle", "square", ... */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The plural noun: "circles", ..., "crosses". */
    public String plural() {
        return this == CROSS ? "crosses" : word() + "s";
    }
}
