package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.world.Scene;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The study's paired comparisons, read from the seeds' answer files: every method against DPO
 * ({@code paired}), ASPO against its shuffled control ({@code controls}), the oracle's
 * dose-response of CHAIR_i against the weights' AUROC ({@code dose_response}), and the one-sentence
 * {@code verdict} computed from them (no hand-written claim).
 */
final class Comparisons {
    static final int RESAMPLES = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, List<Map<String, PairedStatistics.Units>>> units = new LinkedHashMap<>();   // method -> per seed
    private final PairedStatistics stats = new PairedStatistics(RESAMPLES, 20260101L);

    /** Reads every method's per-scene units of seeds 1..{@code seeds} under {@code out}. */
    Comparisons(Path out, int seeds, List<String> methods) throws IOException {
        for (int s = 1; s <= seeds; s++) {
            Path d = Reproduction.seedDir(out, s);
            Map<Integer, Scene> scenes = Reproduction.scenes(d.resolve("world-eval"));
            for (String m : methods) {
                units.computeIfAbsent(m, k -> new ArrayList<>()).add(SceneUnits.read(d.resolve("eval/" + m + "-answers.jsonl"), scenes));
            }
        }
    }

    /** {@code method} minus {@code baseline} on {@code metric}. */
    PairedStatistics.Result compare(String method, String baseline, String metric) {
        List<PairedStatistics.Units> a = new ArrayList<>(), b = new ArrayList<>();
        for (var seed : units.get(method)) a.add(seed.get(metric));
        for (var seed : units.get(baseline)) b.add(seed.get(metric));
        return stats.compare(a, b, SceneUnits.LOWER_IS_BETTER.get(metric));
    }

    /** Per seed, the half-width of {@code method} minus {@code baseline}'s 95% interval on that seed's scenes. */
    double[] seedHalfWidths(String method, String baseline, String metric) {
        List<PairedStatistics.Units> a = new ArrayList<>(), b = new ArrayList<>();
        for (var seed : units.get(method)) a.add(seed.get(metric));
        for (var seed : units.get(baseline)) b.add(seed.get(metric));
        return stats.seedHalfWidths(a, b);
    }

    static ObjectNode json(PairedStatistics.Result r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("mean", r.mean());
        o.put("ci_low", r.ciLow());
        o.put("ci_high", r.ciHigh());
        o.put("p_value", r.pValue());
        o.put("seeds_better", r.seedsBetter());
        return o;
    }

    /** {@code paired}: every method but sft and dpo against dpo, on every metric of {@link SceneUnits#METRICS}. */
    ObjectNode paired() {
        ObjectNode p = JSON.createObjectNode();
        for (String m : units.keySet()) {
            if (m.equals("sft") || m.equals("dpo")) continue;
            ObjectNode mo = p.putObject(m);
            for (String k : SceneUnits.METRICS) mo.set(k, json(compare(m, "dpo", k)));
            var widths = ((ObjectNode) mo.get("chair_i")).putArray("seed_ci_half_width");   // the scenes' precision, per seed
            for (double w : seedHalfWidths(m, "dpo", "chair_i")) widths.add(w);
        }
        return p;
    }

    /** {@code controls}: ASPO against its shuffled control and SFT against DPO, on CHAIR_i. */
    ObjectNode controls() {
        ObjectNode c = JSON.createObjectNode();
        if (units.containsKey("aspo_shuffled")) c.set("aspo_vs_shuffled_chair_i", json(compare("aspo", "aspo_shuffled", "chair_i")));
        c.set("dpo_vs_sft_chair_i", json(compare("dpo", "sft", "chair_i")));
        return c;
    }

    /**
     * {@code dose_response}: per oracle variant (p = 0, then the flips) the flip rate, the weights'
     * AUROC over seeds and CHAIR_i against DPO, with ASPO's own weights as the last entry
     * ({@code "label_flip_rate": null}).
     */
    static ArrayNode doseResponse(JsonNode paired, JsonNode weightAuroc) {
        ArrayNode a = JSON.createArrayNode();
        List<Map.Entry<String, Double>> flips = new ArrayList<>(StudyMethods.FLIP_RATES.entrySet());
        flips.sort(Map.Entry.comparingByValue());
        for (var e : flips) {
            if (!paired.has(e.getKey())) continue;
            ObjectNode o = a.addObject();
            o.put("method", e.getKey());
            o.put("label_flip_rate", e.getValue());
            o.set("weight_auroc", weightAuroc.path(e.getKey()).deepCopy());
            o.set("chair_i_vs_dpo", paired.get(e.getKey()).get("chair_i").deepCopy());
        }
        if (paired.has("aspo")) {
            ObjectNode o = a.addObject();
            o.put("method", "aspo");
            o.putNull("label_flip_rate");
            o.set("weight_auroc", weightAuroc.path("aspo").deepCopy());
            o.set("chair_i_vs_dpo", paired.get("aspo").get("chair_i").deepCopy());
        }
        return a;
    }

    /** One sentence from {@code paired.aspo.chair_i} and the controls: what the numbers say, nothing more. */
    static String verdict(JsonNode paired, JsonNode controls) {
        StringBuilder b = new StringBuilder();
        JsonNode a = paired.path("aspo").path("chair_i");
        if (a.isMissingNode()) return "no ASPO run to compare";
        b.append("ASPO vs DPO: CHAIR_i ").append(difference(a)).append(" (").append(reading(a, "better", "worse")).append(")");
        JsonNode sh = controls.path("aspo_vs_shuffled_chair_i");
        if (!sh.isMissingNode()) {
            b.append("; better than its shuffled control: ").append(significant(sh) && sh.get("mean").asDouble() < 0 ? "yes" : "no")
                    .append(" (").append(difference(sh)).append(")");
        }
        JsonNode mask = paired.path("oracle_mask").path("chair_i");
        if (!mask.isMissingNode()) {
            b.append("; perfect weights as a mask vs DPO: ").append(difference(mask)).append(" (").append(reading(mask, "better", "worse"))
                    .append(")");
        }
        return b.append(".").toString();
    }

    private static boolean significant(JsonNode r) {
        return r.get("p_value").asDouble() < 0.05 && (r.get("ci_high").asDouble() < 0 || r.get("ci_low").asDouble() > 0);
    }

    private static String reading(JsonNode r, String lower, String higher) {
        if (!significant(r)) return "no significant difference";
        return r.get("mean").asDouble() < 0 ? lower : higher;
    }

    /** "-1.2 points [-2.0, -0.4], p = 0.003" (metrics are shares: points are percentage points). */
    static String difference(JsonNode r) {
        return String.format(Locale.ROOT, "%+.1f points [%+.1f, %+.1f], p = %s", 100 * r.get("mean").asDouble(),
                100 * r.get("ci_low").asDouble(), 100 * r.get("ci_high").asDouble(), pValue(r.get("p_value").asDouble()));
    }

    private static String pValue(double p) {
        return p < 0.001 ? String.format(Locale.ROOT, "%.1g", p) : String.format(Locale.ROOT, "%.3f", p);
    }
}
