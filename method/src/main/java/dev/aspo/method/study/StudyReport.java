package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The study's outputs, from what the seeds left on disk: {@code results.json} (every metric as
 * mean and standard deviation over seeds), {@code results.md} (the table the paper would print)
 * and PNG plots ({@code plots/loss.png}, {@code plots/margins.png}: training curves averaged over
 * seeds; {@code plots/hallucination.png}, {@code plots/pope.png}, {@code plots/sampled.png}: metric bars with +-1 std).
 */
public final class StudyReport {
    /** The per-method metrics of results.json, in table order. */
    public static final List<String> METRICS = List.of("chair_i", "chair_s", "recall", "attribute_error", "pope_random_f1",
            "pope_popular_f1", "pope_adversarial_f1", "pope_yes_ratio", "reward_accuracy");
    static final List<String> WEIGHTED = List.of("aspo", "aspo_s", "aspo_p");
    /** The per-method keys of the sampled descriptions' metrics: {@code sampled_chair_i}, ... */
    static final String SAMPLED_PREFIX = "sampled_";
    private static final ObjectMapper JSON = new ObjectMapper();

    private StudyReport() {}

    static Path write(Path out, StudyScale scale, int seeds, PrintStream log) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("scale", scale.name());
        root.put("seeds", seeds);
        double wall = 0;
        List<Double> pairCount = new ArrayList<>(), errorRate = new ArrayList<>(), temperature = new ArrayList<>();
        Map<String, Map<String, List<Double>>> values = new LinkedHashMap<>();
        Map<String, List<Double>> auroc = new LinkedHashMap<>(), scorer = new LinkedHashMap<>(), probe = new LinkedHashMap<>();
        List<Integer> sftSteps = new ArrayList<>();
        Map<String, List<Double>> recipe = new LinkedHashMap<>();
        boolean sampled = scale.evalSamples() > 0;
        if (sampled) root.put("eval_samples", scale.evalSamples());
        for (int s = 1; s <= seeds; s++) {
            Path d = Reproduction.seedDir(out, s);
            try (DirectoryStream<Path> st = Files.newDirectoryStream(d.resolve(".stages"), "*.json")) {
                for (Path p : st) wall += JSON.readTree(p.toFile()).get("seconds").asDouble();
            }
            JsonNode pairs = JSON.readTree(d.resolve("pairs/stats.json").toFile());
            pairCount.add(pairs.get("count").asDouble());
            errorRate.add(pairs.get("chosen_sentence_error_rate").asDouble());
            temperature.add(pairs.path("temperature").asDouble(scale.pairTemperature()));   // absent from studies made before it: the setting's
            sftSteps.add(StudyEvaluation.sftSteps(d));
            recipeValidation(Reproduction.readState(d.resolve("recipe.json")), recipe);
            JsonNode foils = JSON.readTree(d.resolve("scorer-foils.json").toFile());
            for (String k : List.of("foil_auroc", "text_only_foil_auroc")) scorer.computeIfAbsent(k, x -> new ArrayList<>()).add(foils.get(k).asDouble());
            foils.get("vision_probe").fields().forEachRemaining(e -> probe.computeIfAbsent(e.getKey(), x -> new ArrayList<>())
                    .add(e.getValue().asDouble()));
            JsonNode sc = JSON.readTree(d.resolve("eval/scorer.json").toFile());
            for (String k : List.of("sentence_auroc", "text_only_auroc")) {
                scorer.computeIfAbsent(k, x -> new ArrayList<>()).add(sc.get(k).isNull() ? Double.NaN : sc.get(k).asDouble());
            }
            for (String m : Reproduction.METHODS) {
                JsonNode e = JSON.readTree(d.resolve("eval/" + m + ".json").toFile());
                for (String k : METRICS) values.computeIfAbsent(m, x -> new LinkedHashMap<>()).computeIfAbsent(k, x -> new ArrayList<>())
                        .add(e.get(k).asDouble());
                if (sampled) {
                    JsonNode ds = JSON.readTree(d.resolve("eval/" + m + "-sampled.json").toFile());
                    for (String k : SceneUnits.DESCRIPTION_METRICS) values.get(m).computeIfAbsent(SAMPLED_PREFIX + k, x -> new ArrayList<>())
                            .add(ds.get(k).asDouble());
                }
                if (e.has("weight_auroc")) {
                    auroc.computeIfAbsent(m, x -> new ArrayList<>()).add(e.get("weight_auroc").isNull() ? Double.NaN : e.get("weight_auroc").asDouble());
                }
            }
        }
        root.put("wall_seconds", wall);
        ObjectNode pairs = root.putObject("pairs");
        pairs.put("count", mean(pairCount));
        pairs.put("chosen_sentence_error_rate", mean(errorRate));
        pairs.set("per_seed_count", JSON.valueToTree(pairCount));
        pairs.set("per_seed_chosen_sentence_error_rate", JSON.valueToTree(errorRate));
        pairs.set("per_seed_temperature", JSON.valueToTree(temperature));
        root.set("sft_steps", JSON.valueToTree(sftSteps));
        ObjectNode rv = root.putObject("recipe_validation");
        recipe.forEach((k, v) -> stat(rv.putObject(k), v));
        ObjectNode sc = root.putObject("scorer");
        scorer.forEach((k, v) -> stat(sc.putObject(k), v));
        ObjectNode vp = root.putObject("vision_probe");
        probe.forEach((k, v) -> stat(vp.putObject(k), v));
        ObjectNode methods = root.putObject("methods");
        values.forEach((m, ks) -> {
            ObjectNode mo = methods.putObject(m);
            ks.forEach((k, v) -> stat(mo.putObject(k), v));
        });
        ObjectNode wa = root.putObject("weight_auroc");
        auroc.forEach((m, v) -> stat(wa.putObject(m), v));
        Comparisons cmp = new Comparisons(out, seeds, Reproduction.METHODS, Comparisons.GREEDY);
        ObjectNode paired = cmp.paired();
        root.set("paired", paired);
        root.set("controls", cmp.controls());
        root.set("dose_response", Comparisons.doseResponse(paired, wa));
        root.put("verdict", Comparisons.verdict(paired, root.get("controls"), Comparisons.GREEDY));
        if (sampled) {
            Comparisons cs = new Comparisons(out, seeds, Reproduction.METHODS, Comparisons.SAMPLED);
            ObjectNode ps = cs.paired();
            root.set("paired_sampled", ps);
            root.set("controls_sampled", cs.controls());
            root.put("verdict_sampled", Comparisons.verdict(ps, root.get("controls_sampled"), Comparisons.SAMPLED));
        }

        Path json = out.resolve("results.json");
        HfJson.writeText(json, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
        HfJson.writeText(out.resolve("results.md"), markdown(root));
        plots(out, seeds, root);
        log.println(markdown(root));
        return json;
    }

    /**
     * The validation scenes' CHAIR_i and attribute errors of the recipe the search chose (DPO) and
     * of the SFT model it started from (NaN for studies whose recipe.json predates the SFT baseline).
     */
    static void recipeValidation(JsonNode recipe, Map<String, List<Double>> into) {
        PreferenceRuns.Recipe chosen = PreferenceRuns.Recipe.of(recipe.get("chosen"));
        JsonNode best = null;
        for (JsonNode c : recipe.get("candidates")) if (PreferenceRuns.Recipe.of(c).equals(chosen)) best = c;
        JsonNode sft = recipe.path("sft");
        for (String k : List.of("val_chair_i", "val_attribute_error")) {
            into.computeIfAbsent("dpo_" + k, x -> new ArrayList<>()).add(best == null ? Double.NaN : best.get(k).asDouble());
            into.computeIfAbsent("sft_" + k, x -> new ArrayList<>()).add(sft.has(k) ? sft.get(k).asDouble() : Double.NaN);
        }
    }

    /**
     * Mean and std over the seeds where the value is defined (an AUROC is not when all sentences
     * are right; null if none), and {@code per_seed}, the values in seed order (null where undefined).
     */
    static void stat(ObjectNode o, List<Double> v) {
        List<Double> finite = v.stream().filter(Double::isFinite).toList();
        if (finite.isEmpty()) {
            o.putNull("mean");
            o.putNull("std");
        } else {
            o.put("mean", mean(finite));
            o.put("std", std(finite));
        }
        var per = o.putArray("per_seed");
        for (double x : v) {
            if (Double.isFinite(x)) per.add(x);
            else per.addNull();
        }
    }

    static double mean(List<Double> v) {
        double s = 0;
        for (double x : v) s += x;
        return v.isEmpty() ? Double.NaN : s / v.size();
    }

    /** The sample standard deviation (n - 1); 0 for one seed. */
    static double std(List<Double> v) {
        if (v.size() < 2) return 0;
        double m = mean(v), s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / (v.size() - 1));
    }

    static String markdown(JsonNode root) {
        StringBuilder b = new StringBuilder();
        int seeds = root.get("seeds").asInt();
        b.append(String.format(Locale.ROOT, "# Shapes-world study: scale %s, %d seed%s%n%n", root.get("scale").asText(), seeds,
                seeds == 1 ? "" : "s"));
        if (root.has("verdict")) b.append("**Verdict (computed):** ").append(root.get("verdict").asText()).append("\n\n");
        if (root.has("verdict_sampled")) {
            b.append("**On descriptions sampled at the pairs' temperature (computed):** ").append(root.get("verdict_sampled").asText())
                    .append("\n\n");
        }
        b.append(String.format(Locale.ROOT, "%.0f SeVa pairs per seed; %.1f%% of the chosen answers' sentences are wrong"
                        + " (judge)%s; compute %.1f min in all.%n%n", root.get("pairs").get("count").asDouble(),
                100 * root.get("pairs").get("chosen_sentence_error_rate").asDouble(),
                root.get("pairs").has("per_seed_temperature") ? "; answers sampled at temperature " + root.get("pairs").get("per_seed_temperature")
                        + " per seed (0: greedy)" : "",
                root.get("wall_seconds").asDouble() / 60));
        JsonNode sc = root.path("scorer");
        if (sc.has("sentence_auroc")) {
            b.append(String.format(Locale.ROOT, "CLIP scorer on the SFT model's held-out chosen sentences: AUROC of S_i %s, text-only"
                    + " baseline %s (0.5 = chance); SFT steps per seed: %s.%n%n", auroc(sc.get("sentence_auroc"), seeds),
                    auroc(sc.get("text_only_auroc"), seeds), root.path("sft_steps")));
        }
        JsonNode rv = root.path("recipe_validation");
        if (rv.path("sft_val_chair_i").path("mean").isNumber()) {
            b.append(String.format(Locale.ROOT, "Validation scenes (where the recipe was chosen): CHAIR_i of DPO at the chosen recipe %s"
                    + " against the SFT model's %s, per seed.%n%n", percents(rv.get("dpo_val_chair_i")), percents(rv.get("sft_val_chair_i"))));
        }
        b.append("Mean").append(seeds > 1 ? " ± std over seeds" : "").append(", in %. Lower is better for CHAIR and attribute"
                + " errors, higher for recall, POPE F1 and reward accuracy; a POPE yes-ratio near 50% is unbiased.\n\n");
        b.append("| method | CHAIR_i ↓ | CHAIR_s ↓ | recall ↑ | attr. err ↓ | POPE rand F1 ↑ | POPE pop F1 ↑ | POPE adv F1 ↑ |"
                + " yes-ratio | reward acc ↑ |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|\n");
        JsonNode methods = root.get("methods");
        for (var it = methods.fieldNames(); it.hasNext(); ) {
            String m = it.next();
            b.append("| ").append(m);
            for (String k : METRICS) {
                JsonNode v = methods.get(m).get(k);
                b.append(" | ").append(cell(v, seeds));
            }
            b.append(" |\n");
        }
        JsonNode paired = root.path("paired");
        if (paired.size() > 0) {
            b.append("\nPaired against DPO (method minus DPO, percentage points; 95% hierarchical-bootstrap interval over seeds and"
                    + " held-out scenes; p from a scene-level permutation test; seeds where the method is better):\n\n");
            pairedTable(b, paired, SceneUnits.METRICS, seeds);
            JsonNode w = paired.path("aspo").path("chair_i").path("seed_ci_half_width");
            if (w.isArray() && w.size() > 0) {
                List<String> pts = new ArrayList<>();
                for (JsonNode x : w) pts.add(String.format(Locale.ROOT, "%.2f", 100 * x.asDouble()));
                b.append("\nWithin one seed, the held-out scenes measure ASPO minus DPO on CHAIR_i to ± ").append(String.join(", ", pts))
                        .append(" points (95% bootstrap over that seed's scenes, per seed).\n");
            }
            if (root.has("controls")) {
                b.append("\nDPO minus SFT (as above; seeds where DPO is better):\n\n");
                dpoMinusSft(b, root.get("controls"), SceneUnits.METRICS, seeds);
            }
        }
        if (root.has("paired_sampled")) sampledTables(b, root, seeds);
        JsonNode wa = root.get("weight_auroc");
        if (wa.size() > 0) {
            b.append("\nAUROC of the sentence weights of held-out chosen answers for telling correct sentences from wrong ones"
                    + " (0.5 = chance):\n\n| weights | AUROC |\n|---|---|\n");
            for (var it = wa.fieldNames(); it.hasNext(); ) {
                String m = it.next();
                b.append("| ").append(m).append(" | ");
                if (wa.get(m).get("mean").isNull()) b.append("n/a");
                else b.append(String.format(Locale.ROOT, "%.3f", wa.get(m).get("mean").asDouble()));
                if (seeds > 1 && !wa.get(m).get("mean").isNull()) b.append(String.format(Locale.ROOT, " ± %.3f", wa.get(m).get("std").asDouble()));
                b.append(" |\n");
            }
        }
        return b.toString();
    }

    /** The sampled descriptions' metrics per method and their paired differences from DPO. */
    private static void sampledTables(StringBuilder b, JsonNode root, int seeds) {
        b.append(String.format(Locale.ROOT, "%nDescriptions sampled at the SeVa pairs' temperature (%s per seed; %d per evaluation"
                + " scene, one greedy description where it is 0; the same sampler seed for every method), in %%: the answers where the"
                + " chosen answers' wrong sentences live.%n%n", root.path("pairs").path("per_seed_temperature"), root.path("eval_samples").asInt()));
        List<String> keys = SceneUnits.DESCRIPTION_METRICS;
        header(b, "method", keys);
        JsonNode methods = root.get("methods");
        for (var it = methods.fieldNames(); it.hasNext(); ) {
            String m = it.next();
            b.append("| ").append(m).append(" |");
            for (String k : keys) b.append(" ").append(cell(methods.get(m).get(SAMPLED_PREFIX + k), seeds)).append(" |");
            b.append("\n");
        }
        b.append("\nSampled descriptions, paired against DPO (as above):\n\n");
        pairedTable(b, root.get("paired_sampled"), keys, seeds);
        b.append("\nDPO minus SFT on the sampled descriptions (as above; seeds where DPO is better):\n\n");
        dpoMinusSft(b, root.path("controls_sampled"), keys, seeds);
    }

    /** One row: DPO minus SFT on every metric of {@code keys}, from {@code controls}' dpo_vs_sft_* entries ("-" where absent). */
    private static void dpoMinusSft(StringBuilder b, JsonNode controls, List<String> keys, int seeds) {
        header(b, null, keys);
        b.append("|");
        for (String k : keys) {
            JsonNode r = controls.path("dpo_vs_sft_" + k);
            b.append(" ").append(r.isMissingNode() ? "-" : paired(r, seeds)).append(" |");
        }
        b.append("\n");
        holmNote(b, keys.size());
    }

    /** A table's header row and rule: {@code | first | k1 | k2 |} (no first column when null). */
    private static void header(StringBuilder b, String first, List<String> keys) {
        b.append(first == null ? "|" : "| " + first + " |");
        for (String k : keys) b.append(" ").append(k).append(" |");
        b.append(first == null ? "\n|" : "\n|---|");
        for (int i = 0; i < keys.size(); i++) b.append("---|");
        b.append("\n");
    }

    /** One row per method of {@code paired} (method minus DPO), a cell per metric of {@code keys}. */
    private static void pairedTable(StringBuilder b, JsonNode paired, List<String> keys, int seeds) {
        header(b, "method", keys);
        for (var it = paired.fieldNames(); it.hasNext(); ) {
            String m = it.next();
            b.append("| ").append(m).append(" |");
            for (String k : keys) b.append(" ").append(paired(paired.get(m).get(k), seeds)).append(" |");
            b.append("\n");
        }
        holmNote(b, paired.size() * keys.size());
    }

    /** The line under a table whose cells carry {@code p_holm}: what the mark means. */
    private static void holmNote(StringBuilder b, int tests) {
        b.append(String.format(Locale.ROOT, "%n%s: still significant after Holm's correction for the table's %d comparisons (adjusted"
                + " p below 0.05, `p_holm` in results.json, and the interval excludes 0).%n", HOLM_MARK, tests));
    }

    /** Marks a paired difference that survives Holm's correction over its table. */
    static final String HOLM_MARK = "‡";

    /** "-1.2 points [-2.0, -0.4], p = 0.003, 4/5": the difference and the seeds where the first side is better; ‡ when it survives Holm. */
    private static String paired(JsonNode r, int seeds) {
        return Comparisons.difference(r) + ", " + r.get("seeds_better").asInt() + "/" + seeds
                + (Comparisons.significantAfterHolm(r) ? " " + HOLM_MARK : "");
    }

    private static String auroc(JsonNode v, int seeds) {
        if (v.get("mean").isNull()) return "n/a";
        String s = String.format(Locale.ROOT, "%.3f", v.get("mean").asDouble());
        return seeds > 1 ? s + String.format(Locale.ROOT, " ± %.3f", v.get("std").asDouble()) : s;
    }

    /** A per_seed list as percentages, e.g. "[12.1, 8.7]" ("-" where undefined). */
    private static String percents(JsonNode stat) {
        List<String> out = new ArrayList<>();
        for (JsonNode x : stat.get("per_seed")) out.add(x.isNull() ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * x.asDouble()));
        return "[" + String.join(", ", out) + "]";
    }

    private static String cell(JsonNode v, int seeds) {
        String s = String.format(Locale.ROOT, "%.1f", 100 * v.get("mean").asDouble());
        return seeds > 1 ? s + String.format(Locale.ROOT, " ± %.1f", 100 * v.get("std").asDouble()) : s;
    }

    private static void plots(Path out, int seeds, JsonNode root) throws IOException {
        Path dir = out.resolve("plots");
        Files.createDirectories(dir);
        for (String[] curve : new String[][] {{"loss", "loss.png", "training loss"}, {"rewards/margins", "margins.png", "reward margin"}}) {
            LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
            for (String m : Reproduction.METHODS) {
                if (m.equals("sft")) continue;
                double[][] c = meanCurve(out, seeds, m, curve[0]);
                if (c != null) series.put(m, c);
            }
            if (!series.isEmpty()) {
                Charts.lines(dir.resolve(curve[1]), curve[2] + " (mean over " + seeds + " seed" + (seeds == 1 ? "" : "s") + ")",
                        "step", curve[0], series);
            }
        }
        List<String> methods = new ArrayList<>();
        root.get("methods").fieldNames().forEachRemaining(methods::add);
        bars(dir.resolve("hallucination.png"), "hallucination on held-out scenes", root, methods,
                List.of("chair_i", "chair_s", "recall", "attribute_error"));
        doseResponse(dir.resolve("dose_response.png"), root.path("dose_response"));
        if (root.has("paired_sampled")) {
            bars(dir.resolve("sampled.png"), "descriptions sampled at the pairs' temperature", root, methods,
                    SceneUnits.DESCRIPTION_METRICS.stream().map(k -> SAMPLED_PREFIX + k).toList(), SceneUnits.DESCRIPTION_METRICS);
        }
        bars(dir.resolve("pope.png"), "POPE and reward accuracy", root, methods,
                List.of("pope_random_f1", "pope_popular_f1", "pope_adversarial_f1", "pope_yes_ratio", "reward_accuracy"));
    }

    /**
     * CHAIR_i minus DPO's (points, with the paired 95% interval) against the weights' mean AUROC:
     * the oracle's labels flipped in known steps, joined, and ASPO's own weights as a separate point.
     */
    private static void doseResponse(Path png, JsonNode entries) {
        List<Charts.IntervalPoint> oracle = new ArrayList<>(), aspo = new ArrayList<>();
        for (JsonNode e : entries) {
            JsonNode a = e.path("weight_auroc").path("mean"), c = e.get("chair_i_vs_dpo");
            if (!a.isNumber()) continue;   // no wrong sentence to rank: no AUROC
            Charts.IntervalPoint p = new Charts.IntervalPoint(a.asDouble(), 100 * c.get("mean").asDouble(), 100 * c.get("ci_low").asDouble(),
                    100 * c.get("ci_high").asDouble());
            (e.get("label_flip_rate").isNull() ? aspo : oracle).add(p);
        }
        if (oracle.isEmpty()) return;
        LinkedHashMap<String, List<Charts.IntervalPoint>> series = new LinkedHashMap<>();
        series.put("oracle labels, flipped at p = 0, 0.1, 0.25, 0.5", oracle);
        if (!aspo.isEmpty()) series.put("ASPO's own weights", aspo);
        Charts.intervals(png, "dose-response: sentence-weight quality vs hallucination", "weight AUROC on held-out chosen sentences",
                "CHAIR_i minus DPO's (points, 95% CI)", series, Map.of("oracle labels, flipped at p = 0, 0.1, 0.25, 0.5", true), "DPO", 0);
    }

    private static void bars(Path png, String title, JsonNode root, List<String> methods, List<String> metrics) {
        bars(png, title, root, methods, metrics, metrics);
    }

    /** The same with the groups labelled {@code labels} (one per metric). */
    private static void bars(Path png, String title, JsonNode root, List<String> methods, List<String> metrics, List<String> labels) {
        double[][] mean = new double[metrics.size()][methods.size()], std = new double[metrics.size()][methods.size()];
        for (int i = 0; i < metrics.size(); i++) {
            for (int j = 0; j < methods.size(); j++) {
                JsonNode v = root.get("methods").get(methods.get(j)).get(metrics.get(i));
                mean[i][j] = v.get("mean").asDouble();
                std[i][j] = v.get("std").asDouble();
            }
        }
        Charts.bars(png, title, labels, methods, mean, std);
    }

    /** {xs, ys}: the training metric {@code key} per step, averaged over the seeds that logged it. */
    private static double[][] meanCurve(Path out, int seeds, String method, String key) throws IOException {
        Map<Long, double[]> acc = new java.util.TreeMap<>();
        for (int s = 1; s <= seeds; s++) {
            Path f = Reproduction.seedDir(out, s).resolve("runs/" + method + "/metrics.jsonl");
            if (!Files.isRegularFile(f)) continue;
            for (String line : Files.readAllLines(f)) {
                JsonNode n = JSON.readTree(line);
                if (!n.has(key) || !n.has("step")) continue;
                double[] a = acc.computeIfAbsent(n.get("step").asLong(), k -> new double[2]);
                a[0] += n.get(key).asDouble();
                a[1]++;
            }
        }
        if (acc.isEmpty()) return null;
        double[][] c = new double[2][acc.size()];
        int i = 0;
        for (var e : acc.entrySet()) {
            c[0][i] = e.getKey();
            c[1][i++] = e.getValue()[0] / e.getValue()[1];
        }
        return c;
    }
}
