package dev.aspo.method.study;

import dev.aspo.method.world.Judge;
import dev.aspo.method.world.ResponseJudgement;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SentenceJudgement;
import dev.aspo.method.world.Verdict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hallucination metrics of a model on held-out scenes, against the scenes' ground truth:
 * <ul>
 *   <li>{@code chair_i}: hallucinated object mentions / object mentions (CHAIR's instance rate; an
 *       object is a colour and a shape, "red circle");</li>
 *   <li>{@code chair_s}: descriptions with at least one hallucinated object / descriptions;</li>
 *   <li>{@code recall}: scene objects that a description names (correctly or with a wrong size or
 *       place) / scene objects;</li>
 *   <li>{@code attribute_error}: sentences about a present object (or the count) that get its size,
 *       place or the count wrong / such sentences;</li>
 *   <li>{@code unparseable}: sentences the judge cannot read / sentences;</li>
 *   <li>{@code sentence_error}: sentences the judge does not find correct (hallucinated, a wrong
 *       attribute, unreadable) / sentences: the measure of the SeVa pairs' chosen answers;</li>
 *   <li>{@code pope_<split>_f1}: F1 of "yes" on the yes/no probes of each POPE split (an answer that
 *       is neither yes nor no counts as no); {@code pope_yes_ratio}: the share of yes answers over
 *       all splits.</li>
 * </ul>
 */
public final class Evaluation {
    private Evaluation() {}

    /** Description metrics of {@code answers[i]} about {@code scenes[i]}. */
    public static Map<String, Double> descriptions(List<Scene> scenes, List<String> answers) {
        return judged(scenes, judge(scenes, answers));
    }

    /** The judge's verdicts on {@code answers[i]} about {@code scenes[i]}, for {@link #judged} and whoever also keeps them. */
    public static List<ResponseJudgement> judge(List<Scene> scenes, List<String> answers) {
        checkOnePerScene(scenes, answers.size());
        List<ResponseJudgement> judged = new ArrayList<>(answers.size());
        for (int i = 0; i < scenes.size(); i++) judged.add(Judge.judge(scenes.get(i), answers.get(i)));
        return judged;
    }

    /** {@link #descriptions} from the judge's verdicts on each answer ({@code judgements[i]} about {@code scenes[i]}). */
    public static Map<String, Double> judged(List<Scene> scenes, List<ResponseJudgement> judgements) {
        checkOnePerScene(scenes, judgements.size());
        long mentions = 0, hallucinated = 0, withHallucination = 0, objects = 0, recalled = 0;
        long attributeSentences = 0, attributeWrong = 0, sentences = 0, unparseable = 0, notCorrect = 0;
        for (int i = 0; i < scenes.size(); i++) {
            Scene s = scenes.get(i);
            ResponseJudgement j = judgements.get(i);
            mentions += j.objectMentions();
            hallucinated += j.hallucinated();
            if (j.anyHallucinated()) withHallucination++;
            objects += s.objects().size();
            recalled += j.mentionedPresentObjects().size();
            for (SentenceJudgement sj : j.sentences()) {
                sentences++;
                if (sj.verdict() == Verdict.UNPARSEABLE) unparseable++;
                if (sj.verdict() != Verdict.CORRECT) notCorrect++;
                if (sj.verdict() == Verdict.CORRECT || sj.verdict() == Verdict.WRONG_ATTRIBUTE) attributeSentences++;
                if (sj.verdict() == Verdict.WRONG_ATTRIBUTE) attributeWrong++;
            }
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("chair_i", ratio(hallucinated, mentions));
        m.put("chair_s", ratio(withHallucination, scenes.size()));
        m.put("recall", ratio(recalled, objects));
        m.put("attribute_error", ratio(attributeWrong, attributeSentences));
        m.put("unparseable", ratio(unparseable, sentences));
        m.put("sentence_error", ratio(notCorrect, sentences));
        return m;
    }

    /** F1 of the "yes" class: {@code truth[i]} the right answer, {@code said[i]} the model's (null: unreadable, counted as no). */
    public static double f1(boolean[] truth, Boolean[] said) {
        long tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < truth.length; i++) {
            boolean yes = Boolean.TRUE.equals(said[i]);
            if (yes && truth[i]) tp++;
            else if (yes) fp++;
            else if (truth[i]) fn++;
        }
        return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    private static void checkOnePerScene(List<Scene> scenes, int answers) {
        if (scenes.size() != answers || scenes.isEmpty()) {
            throw new IllegalArgumentException("need one answer per scene, got " + answers + " for " + scenes.size());
        }
    }

    static double ratio(long a, long b) {
        return b == 0 ? 0 : (double) a / b;
    }
}
