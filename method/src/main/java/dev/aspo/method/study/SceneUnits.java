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
 *   pope_random_f1   2 TP / (2 TP + FP + FN) over the scene's random-split probes
 * </pre>
 */
public final class SceneUnits {
    /** The metrics compared pairwise, and whether lower is better for each. */
    public static final Map<String, Boolean> LOWER_IS_BETTER = Map.of("chair_i", true, "chair_s", true, "recall", false,
            "attribute_error", true, "pope_random_f1", false);
    public static final List<String> METRICS = List.of("chair_i", "chair_s", "recall", "attribute_error", "pope_random_f1");
    private static final ObjectMapper JSON = new ObjectMapper();

    private SceneUnits() {}

    /** Per metric of {@link #METRICS}, the units of every described scene, in the order of {@code scenes}. */
    public static Map<String, PairedStatistics.Units> read(Path answers, Map<Integer, Scene> scenes) throws IOException {
        Map<Integer, String> described = new LinkedHashMap<>();
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
                described.put(id, n.get("answer").asText());
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int id : scenes.keySet()) if (described.containsKey(id)) ids.add(id);
        int n = ids.size();
        Map<String, double[][]> u = new LinkedHashMap<>();
        for (String m : METRICS) u.put(m, new double[2][n]);
        for (int j = 0; j < n; j++) {
            Scene s = scenes.get(ids.get(j));
            ResponseJudgement r = Judge.judge(s, described.get(ids.get(j)));
            set(u, "chair_i", j, r.hallucinated(), r.objectMentions());
            set(u, "chair_s", j, r.anyHallucinated() ? 1 : 0, 1);
            set(u, "recall", j, r.mentionedPresentObjects().size(), s.objects().size());
            long about = 0, wrong = 0;
            for (SentenceJudgement sj : r.sentences()) {
                if (sj.verdict() == Verdict.CORRECT || sj.verdict() == Verdict.WRONG_ATTRIBUTE) about++;
                if (sj.verdict() == Verdict.WRONG_ATTRIBUTE) wrong++;
            }
            set(u, "attribute_error", j, wrong, about);
            long[] c = pope.getOrDefault(ids.get(j), new long[3]);
            set(u, "pope_random_f1", j, 2 * c[0], 2 * c[0] + c[1] + c[2]);
        }
        Map<String, PairedStatistics.Units> out = new LinkedHashMap<>();
        u.forEach((m, a) -> out.put(m, new PairedStatistics.Units(a[0], a[1])));
        return out;
    }

    private static void set(Map<String, double[][]> u, String metric, int j, double num, double den) {
        u.get(metric)[0][j] = num;
        u.get(metric)[1][j] = den;
    }
}
