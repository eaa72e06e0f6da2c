package dev.aspo.method.world;

/**
 * The judge's finding for one sentence. {@code colour} and {@code shape} identify the object the
 * sentence is about: the colour + shape it names; where it names only the shape ("The circle is
 * red."), the colour of the scene's one object of that shape it is about (so a wrong colour stated of
 * a present blue circle gives BLUE, CIRCLE, WRONG_ATTRIBUTE). Null where none can be told: no
 * shape parsed, a count sentence, or a shape the scene has several times.
 */
public record SentenceJudgement(String sentence, Verdict verdict, Colour colour, Shape shape, boolean countSentence) {
}
