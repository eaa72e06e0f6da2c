package dev.aspo.method.world;

/**
 * A yes/no probe: "Is there a red circle in the image?" with the true answer ({@link
 * ProbeSampler#answerText} gives its text "Yes." / "No.").
 */
public record Probe(String question, boolean answer, Colour colour, Shape shape, PopeSplit split) {
}
