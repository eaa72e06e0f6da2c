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
 * {@code verdict} computed from them (no hand-written claim). One instance reads one kind of
 * answers: the greedy descriptions and POPE answers ({@link #GREEDY}, primary metric CHAIR_i) or the
 * descriptions sampled at the pairs' temperature ({@link #SAMPLED}, primary metric the share of
 * wrong sentences, the measure of the chosen answers that ASPO's weights act on).
 */
final class Comparisons {
    static final int RESAMPLES = 2000;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Which answers are compared: the file of a method's answers, the metrics compared and the one the verdict reads. */
    record Kind(String answersSuffix, List<String> metrics, String primary, String primaryLabel) {}

    static final Kind GREEDY = new Kind("-answers.jsonl", SceneUnits.METRICS, "chair_i", "CHAIR_i");
    static final Kind SAMPLED = new Kind("-sampled-answers.jsonl", SceneUnits.DESCRIPTION_METRICS, "sentence_error",
            "wrong sentences of sampled descriptions");

    private final Kind kind;
    private final Map<String, List<Map<String, PairedStatistics.Units>>> units = new LinkedHashMap<>();   // method -> per seed
    private final PairedStatistics stats = new PairedStatistics(RESAMPLES, 20260101L);

    /** Reads every method's per-scene units of one kind of answers, of seeds 1..{@code seeds} under {@code out}. */
    Comparisons(Path out, int seeds, List<String> methods, Kind kind) throws IOException {
        this.kind = kind;
        for (int s = 1; s <= seeds; s++) {
            Path d = Reproduction.seedDir(out, s);
            Map<Integer, Scene> scenes = Reproduction.scenes(d.resolve("world-eval"));
            for (String m : methods) {
                units.computeIfAbsent(m, k -> new ArrayList<>()).add(SceneUnits.read(d.resolve("eval/" + m + kind.answersSuffix()), scenes));
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

    /** {@code paired}: every method but sft and dpo against dpo, on every metric of this kind, each with {@code p_holm} over the table. */
    ObjectNode paired() {
        ObjectNode p = JSON.createObjectNode();
        for (String m : units.keySet()) {
            if (m.equals("sft") || m.equals("dpo")) continue;
            ObjectNode mo = p.putObject(m);
            for (String k : kind.metrics()) mo.set(k, json(compare(m, "dpo", k)));
            var widths = ((ObjectNode) mo.get(kind.primary())).putArray("seed_ci_half_width");   // the scenes' precision, per seed
            for (double w : seedHalfWidths(m, "dpo", kind.primary())) widths.add(w);
        }
        List<ObjectNode> family = new ArrayList<>();
        for (JsonNode mo : p) for (String k : kind.metrics()) family.add((ObjectNode) mo.get(k));
        adjust(family);
        return p;
    }

    /**
     * Adds {@code p_holm} to each comparison of {@code family}: its p-value adjusted by Holm's method
     * over the whole family. A table of 11 methods by 6 metrics holds 66 tests, so a few raw
     * p &lt; 0.05 are expected by chance alone; the verdicts' pre-declared comparisons (ASPO against DPO
     * and against its shuffled control, on the primary metric) are read unadjusted.
     */
    static void adjust(List<ObjectNode> family) {
        double[] raw = new double[family.size()];
        for (int i = 0; i < raw.length; i++) raw[i] = family.get(i).get("p_value").asDouble();
        double[] adjusted = PairedStatistics.holm(raw);
        for (int i = 0; i < raw.length; i++) family.get(i).put("p_holm", adjusted[i]);
    }

    /** Whether a comparison with {@code p_holm} is still significant after the adjustment (and its interval excludes 0). */
    static boolean significantAfterHolm(JsonNode r) {
        return r.has("p_holm") && significant(r, "p_holm");
    }

    /**
     * {@code controls}: ASPO against its shuffled control on the primary metric, and DPO against SFT
     * on every metric of this kind (whether DPO behaves as the literature says is a question of its own;
     * those carry {@code p_holm} over the metrics).
     */
    ObjectNode controls() {
        ObjectNode c = JSON.createObjectNode();
        String k = kind.primary();
        if (units.containsKey("aspo_shuffled")) c.set("aspo_vs_shuffled_" + k, json(compare("aspo", "aspo_shuffled", k)));
        List<String> metrics = new ArrayList<>(List.of(k));   // the primary first
        for (String other : kind.metrics()) if (!other.equals(k)) metrics.add(other);
        List<ObjectNode> family = new ArrayList<>();   // DPO against SFT on every metric: one family
        for (String m : metrics) {
            ObjectNode r = json(compare("dpo", "sft", m));
            c.set("dpo_vs_sft_" + m, r);
            family.add(r);
        }
        adjust(family);
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

    /** One sentence from {@code paired.aspo} on the kind's primary metric and the controls: what the numbers say, nothing more. */
    static String verdict(JsonNode paired, JsonNode controls, Kind kind) {
        StringBuilder b = new StringBuilder();
        String k = kind.primary();
        JsonNode a = paired.path("aspo").path(k);
        if (a.isMissingNode()) return "no ASPO run to compare";
        b.append("ASPO vs DPO: ").append(kind.primaryLabel()).append(" ").append(difference(a)).append(" (")
                .append(reading(a, "better", "worse")).append(")");
        JsonNode sh = controls.path("aspo_vs_shuffled_" + k);
        if (!sh.isMissingNode()) {
            b.append("; better than its shuffled control: ").append(significant(sh) && sh.get("mean").asDouble() < 0 ? "yes" : "no")
                    .append(" (").append(difference(sh)).append(")");
        }
        JsonNode mask = paired.path("oracle_mask").path(k);
        if (!mask.isMissingNode()) {
            b.append("; perfect weights as a mask vs DPO: ").append(difference(mask)).append(" (").append(reading(mask, "better", "worse"))
                    .append(")");
        }
        return b.append(".").toString();
    }

    private static boolean significant(JsonNode r) {
        return significant(r, "p_value");
    }

    /** p-value {@code pKey} below 0.05 and the 95% interval clear of 0: both tests agree. */
    private static boolean significant(JsonNode r, String pKey) {
        return r.get(pKey).asDouble() < 0.05 && (r.get("ci_high").asDouble() < 0 || r.get("ci_low").asDouble() > 0);
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
