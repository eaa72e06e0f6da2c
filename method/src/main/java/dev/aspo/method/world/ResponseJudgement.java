package dev.aspo.method.world;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The judge's findings for every non-blank sentence of a response, in order. */
public record ResponseJudgement(List<SentenceJudgement> sentences) {
    public ResponseJudgement {
        sentences = List.copyOf(sentences);
    }

    /** Sentences that name an object the scene does not have (CHAIR_i's numerator). */
    public int hallucinated() {
        return (int) sentences.stream().filter(j -> j.verdict() == Verdict.HALLUCINATED).count();
    }

    /** Sentences that mention an object (a readable, non-count sentence with a shape): CHAIR_i's denominator. */
    public int objectMentions() {
        return (int) sentences.stream()
                .filter(j -> j.shape() != null && !j.countSentence() && j.verdict() != Verdict.UNPARSEABLE).count();
    }

    /** Whether some sentence hallucinates (CHAIR_s counts such responses). */
    public boolean anyHallucinated() {
        return hallucinated() > 0;
    }

    /** Names ("red circle") of scene objects that some non-hallucinated sentence mentions (for object recall). */
    public Set<String> mentionedPresentObjects() {
        Set<String> names = new LinkedHashSet<>();
        for (SentenceJudgement j : sentences) {
            if ((j.verdict() == Verdict.CORRECT || j.verdict() == Verdict.WRONG_ATTRIBUTE) && !j.countSentence()
                    && j.colour() != null && j.shape() != null) {
                names.add(SceneObject.name(j.colour(), j.shape()));
            }
        }
        return names;
    }
}
