package dev.aspo.method.world;

import java.util.Locale;

/** The two sizes of the shapes world: SMALL is about 45% of a cell across, LARGE about 80%. */
public enum Size {
    SMALL, LARGE;

    /** The adjective: "small" or "large". */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
