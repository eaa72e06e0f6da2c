package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.ResponseJudgement;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SentenceJudgement;
import dev.aspo.method.world.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's metrics on held-out scenes split into per-scene numerators and denominators (the
 * units {@link PairedStatistics} resamples), read back from the answers file that {@link
 * ModelEvaluation} wrote and judged again against the scenes. Summed over all scenes they give
 * {@link Evaluation}'s numbers:
 * <pre>
 *   chair_i          hallucinated object mentions / object mentions
 *   chair_s          1 if any mention is hallucinated / 1
 *   recall           scene objects named / scene objects
 *   attribute_error  sentences with a wrong size, place or count / sentences about a present object or the count
 *   sentence_error   sentences the judge does not find correct / sentences
 *   pope_random_f1   2 TP / (2 TP + FP + FN) over the scene's random-split probes
 * </pre>
 * A scene described more than once (the sampled descriptions, {@link ModelEvaluation#sample}) is
 * one unit whose numerators and denominators are the sums over its descriptions, so the scenes,
 * not the samples, are what the statistics resample.
 */
public final class SceneUnits {
    /** The metrics compared pairwise, and whether lower is better for each. */
    public static final Map<String, Boolean> LOWER_IS_BETTER = Map.of("chair_i", true, "chair_s", true, "recall", false,
            "attribute_error", true, "sentence_error", true, "pope_random_f1", false);
    public static final List<String> METRICS = List.of("chair_i", "chair_s", "recall", "attribute_error", "sentence_error", "pope_random_f1");
    /** The metrics of descriptions alone (no POPE): those of the sampled descriptions. */
    public static final List<String> DESCRIPTION_METRICS = List.of("chair_i", "chair_s", "recall", "attribute_error", "sentence_error");
    private static final ObjectMapper JSON = new ObjectMapper();

    private SceneUnits() {}

    /** Per metric of {@link #METRICS}, the units of every described scene, in the order of {@code scenes}. */
    public static Map<String, PairedStatistics.Units> read(Path answers, Map<Integer, Scene> scenes) throws IOException {
        Map<Integer, List<String>> described = new LinkedHashMap<>();
        Map<Integer, long[]> pope = new LinkedHashMap<>();   // scene -> {tp, fp, fn}
        List<String> lines = Files.readAllLines(answers);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            JsonNode n = JSON.readTree(lines.get(i));
            if (!n.hasNonNull("scene_id")) throw new IllegalArgumentException(answers + ":" + (i + 1) + ": no \"scene_id\"");
            int id = n.get("scene_id").asInt();
            if (n.has("split")) {
                if (!n.get("split").asText().equals("random")) continue;
                boolean truth = n.get("truth").asText().equals("yes"), yes = Boolean.TRUE.equals(Judge.yesNo(n.get("answer").asText()));
                long[] c = pope.computeIfAbsent(id, k -> new long[3]);
                if (yes && truth) c[0]++;
                else if (yes) c[1]++;
                else if (truth) c[2]++;
            } else {
                described.computeIfAbsent(id, k -> new ArrayList<>()).add(n.get("answer").asText());
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int id : scenes.keySet()) if (described.containsKey(id)) ids.add(id);
        int n = ids.size();
        Map<String, double[][]> u = new LinkedHashMap<>();
        for (String m : METRICS) u.put(m, new double[2][n]);
        for (int j = 0; j < n; j++) {
            Scene s = scenes.get(ids.get(j));
            for (String answer : described.get(ids.get(j))) {
                ResponseJudgement r = Judge.judge(s, answer);
                add(u, "chair_i", j, r.hallucinated(), r.objectMentions());
                add(u, "chair_s", j, r.anyHallucinated() ? 1 : 0, 1);
                add(u, "recall", j, r.mentionedPresentObjects().size(), s.objects().size());
                long about = 0, wrong = 0, notCorrect = 0;
                for (SentenceJudgement sj : r.sentences()) {
                    if (sj.verdict() == Verdict.CORRECT || sj.verdict() == Verdict.WRONG_ATTRIBUTE) about++;
                    if (sj.verdict() == Verdict.WRONG_ATTRIBUTE) wrong++;
                    if (sj.verdict() != Verdict.CORRECT) notCorrect++;
                }
                add(u, "attribute_error", j, wrong, about);
                add(u, "sentence_error", j, notCorrect, r.sentences().size());
            }
            long[] c = pope.getOrDefault(ids.get(j), new long[3]);
            add(u, "pope_random_f1", j, 2 * c[0], 2 * c[0] + c[1] + c[2]);
        }
        Map<String, PairedStatistics.Units> out = new LinkedHashMap<>();
        u.forEach((m, a) -> out.put(m, new PairedStatistics.Units(a[0], a[1])));
        return out;
    }

    private static void add(Map<String, double[][]> u, String metric, int j, double num, double den) {
        u.get(metric)[0][j] += num;
        u.get(metric)[1][j] += den;
    }
}
