package dev.aspo.method.world;

/** What the judge finds of one sentence. */
public enum Verdict {
    /** Every fact it states is true of the scene. */
    CORRECT,
    /** It names an object (colour + shape, or a shape) the scene does not have. */
    HALLUCINATED,
    /** The object is there, but a stated colour, size, position or the count is wrong. */
    WRONG_ATTRIBUTE,
    /** No fact the judge can read: garbage, no shape, two objects in one sentence, contradicting words. */
    UNPARSEABLE
}
