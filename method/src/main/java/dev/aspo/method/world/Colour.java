package dev.aspo.method.world;

import java.awt.Color;
import java.util.Locale;

/**
 * The six colours of the shapes world. The RGB values are far apart (every pair differs by at least
 * 90 in some channel) so that a small model can tell them apart at 48 px, also after antialiasing.
 */
public enum Colour {
    RED(new Color(220, 30, 30)),
    GREEN(new Color(30, 160, 40)),
    BLUE(new Color(30, 70, 220)),
    YELLOW(new Color(240, 215, 20)),
    PURPLE(new Color(140, 40, 180)),
    ORANGE(new Color(245, 125, 0));

    private final Color rgb;

    Colour(Color rgb) {
        this.rgb = rgb;
    }

    /** The adjective: "red", "green", ... */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The colour the renderer paints. */
    public Color rgb() {
        return rgb;
    }
}
