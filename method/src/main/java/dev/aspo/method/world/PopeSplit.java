package dev.aspo.method.world;

import java.util.Locale;

/** POPE's three ways of choosing the absent objects to ask about. */
public enum PopeSplit {
    /** Absent objects uniformly at random. */
    RANDOM,
    /** The absent objects most frequent in the training scenes. */
    POPULAR,
    /** Absent objects sharing the shape or the colour of a present one (the most confusable). */
    ADVERSARIAL;

    /** "random", "popular", "adversarial". */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
