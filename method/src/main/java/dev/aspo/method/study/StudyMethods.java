package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The study's methods: what each trains with (its trainer settings), which weights it uses, and
 * the oracle's label-noise variants of the dose-response. Every method starts from the same SFT
 * checkpoint and trains on the same pairs in the same order; only these settings differ.
 */
final class StudyMethods {
    static final List<String> METHODS = List.of("sft", "dpo", "aspo", "aspo_s", "aspo_p", "aspo_oracle", "aspo_inverse",
            "aspo_rr", "aspo_shuffled", "oracle_mask", "oracle_flip10", "oracle_flip25", "oracle_flip50");
    /** The oracle variants of the dose-response, by the share of flipped sentence labels. */
    static final Map<String, Double> FLIP_RATES = Map.of("aspo_oracle", 0.0, "oracle_flip10", 0.10, "oracle_flip25", 0.25,
            "oracle_flip50", 0.50);

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private StudyMethods() {}

    /**
     * The settings that make method {@code m} (docs/METHOD.md: alpha 0.5 full, 1 similarity only, 0
     * perplexity only), and the study's controls: {@code aspo_rr} ASPO with reward-ratio
     * normalisation; {@code aspo_shuffled} ASPO's weights permuted within each chosen answer;
     * {@code oracle_mask} the judge's labels used as they are (wrong sentences weigh 0);
     * {@code oracle_flipNN} the oracle on labels flipped with probability NN% ({@link #flippedPairs}).
     */
    static Map<String, String> methodSettings(String m) {
        Map<String, String> o = new LinkedHashMap<>();
        switch (m) {
            case "dpo" -> {}
            case "aspo" -> o.put("alpha", "0.5");
            case "aspo_s" -> o.put("alpha", "1");
            case "aspo_p" -> o.put("alpha", "0");
            case "aspo_oracle", "oracle_flip10", "oracle_flip25", "oracle_flip50" -> o.put("weights", "oracle");
            case "aspo_inverse" -> {
                o.put("alpha", "0.5");
                o.put("rejected_weighting", "inverse");
            }
            case "aspo_rr" -> {
                o.put("alpha", "0.5");
                o.put("normalization", "reward-ratio");
            }
            case "aspo_shuffled" -> {
                o.put("alpha", "0.5");
                o.put("shuffle_weights", "true");
            }
            case "oracle_mask" -> {
                o.put("weights", "oracle");
                o.put("normalization", "none");
            }
            default -> throw new IllegalArgumentException("unknown method " + m);
        }
        return o;
    }

    /** ASPO's alpha for the methods whose weights are adaptive (their weight AUROC is measured), else NaN. */
    static double adaptiveAlpha(String m) {
        return switch (m) {
            case "aspo", "aspo_rr", "aspo_shuffled" -> 0.5;
            case "aspo_s" -> 1;
            case "aspo_p" -> 0;
            default -> Double.NaN;
        };
    }

    /**
     * {@code pairs} with each chosen sentence label flipped with probability {@code p} (seeded by
     * {@code seed} and p), written to {@code out}: the oracle's weights made worse in known steps
     * (their AUROC is 1 - p in expectation).
     */
    static void flippedPairs(Path pairs, Path out, double p, long seed) throws IOException {
        Random rng = new Random(seed * 7919L + Math.round(p * 1000));
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(pairs)) {
            if (line.isBlank()) continue;
            ObjectNode n = (ObjectNode) JSON.readTree(line);
            JsonNode truth = n.get("chosen_sentence_labels");
            var labels = n.putArray("chosen_sentence_labels");
            for (JsonNode v : truth) labels.add(rng.nextDouble() < p ? 1 - v.asInt() : v.asInt());
            lines.add(n.toString());
        }
        HfJson.writeText(out, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
    }

    /** AUROC of the labels of {@code scored} for the true labels of {@code truth} (the same pairs, line by line). */
    static double labelAuroc(Path truth, Path scored) throws IOException {
        List<String> t = Files.readAllLines(truth), f = Files.readAllLines(scored);
        List<Double> score = new ArrayList<>();
        List<Boolean> pos = new ArrayList<>();
        for (int i = 0, j = 0; i < t.size(); i++) {
            if (t.get(i).isBlank()) continue;
            JsonNode a = JSON.readTree(t.get(i)).get("chosen_sentence_labels"), b = JSON.readTree(f.get(j++)).get("chosen_sentence_labels");
            for (int k = 0; k < a.size(); k++) {
                score.add(b.get(k).asDouble());
                pos.add(a.get(k).asInt() == 1);
            }
        }
        return Auroc.of(score, pos);
    }
}
