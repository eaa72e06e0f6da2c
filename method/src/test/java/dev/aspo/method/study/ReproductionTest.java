package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.method.world.Colour;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SceneObject;
import dev.aspo.method.world.Shape;
import dev.aspo.method.world.Size;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline's glue: sentence labels, the methods' settings, the report's table. */
class ReproductionTest {
    @Test
    void labelsFollowTheTrainersSentences() {
        Scene scene = new Scene(List.of(new SceneObject(Shape.CIRCLE, Colour.RED, Size.SMALL, 0),
                new SceneObject(Shape.SQUARE, Colour.BLUE, Size.LARGE, 8)));
        // the sentences as SequenceEncoder cuts them (trailing spaces kept): correct, hallucinated, wrong size, garbage
        Sequence s = new Sequence(new int[0], 0, new int[0], List.of("There is a small red circle in the top left corner. ",
                "There is a large green star in the centre. ", "The blue square in the bottom right corner is small. ", "blue blue"));
        assertArrayEquals(new double[] {1, 0, 0, 0}, SevaPairs.labels(scene, s));
    }

    @Test
    void eachMethodIsTheLossOfASPOmd() {
        Map<String, double[]> alpha = Map.of("aspo", new double[] {0.5}, "aspo_s", new double[] {1}, "aspo_p", new double[] {0});
        for (var e : alpha.entrySet()) {
            LossConfig c = TrainConfig.of(StudyMethods.methodSettings(e.getKey())).lossConfig(LossConfig.LossType.ASPO);
            assertEquals(e.getValue()[0], c.alpha(), 0, e.getKey());
            assertEquals(LossConfig.WeightSource.ADAPTIVE, c.weightSource());
            assertEquals(LossConfig.RejectedWeighting.NONE, c.rejectedWeighting());
        }
        assertEquals(LossConfig.WeightSource.ORACLE,
                TrainConfig.of(StudyMethods.methodSettings("aspo_oracle")).lossConfig(LossConfig.LossType.ASPO).weightSource());
        LossConfig inv = TrainConfig.of(StudyMethods.methodSettings("aspo_inverse")).lossConfig(LossConfig.LossType.ASPO);
        assertEquals(LossConfig.RejectedWeighting.INVERSE, inv.rejectedWeighting());
        assertEquals(0.5, inv.alpha(), 0);
        assertTrue(StudyMethods.methodSettings("dpo").isEmpty());
        assertThrows(IllegalArgumentException.class, () -> StudyMethods.methodSettings("ppo"));
    }

    @Test
    void theControlsAreTheLossesTheirNamesSay() {
        LossConfig rr = TrainConfig.of(StudyMethods.methodSettings("aspo_rr")).lossConfig(LossConfig.LossType.ASPO);
        assertEquals(LossConfig.Normalization.REWARD_RATIO, rr.normalization());
        assertEquals(0.5, rr.alpha(), 0);
        TrainConfig shuffled = TrainConfig.of(StudyMethods.methodSettings("aspo_shuffled"));
        assertTrue(shuffled.bool("shuffle_weights"));
        assertEquals(LossConfig.WeightSource.ADAPTIVE, shuffled.lossConfig(LossConfig.LossType.ASPO).weightSource());
        LossConfig mask = TrainConfig.of(StudyMethods.methodSettings("oracle_mask")).lossConfig(LossConfig.LossType.ASPO);
        assertEquals(LossConfig.Normalization.NONE, mask.normalization());
        assertEquals(LossConfig.WeightSource.ORACLE, mask.weightSource());
        for (String flip : List.of("oracle_flip10", "oracle_flip25", "oracle_flip50")) {
            assertEquals(LossConfig.WeightSource.ORACLE, TrainConfig.of(StudyMethods.methodSettings(flip)).lossConfig(LossConfig.LossType.ASPO)
                    .weightSource());
            assertTrue(StudyMethods.FLIP_RATES.containsKey(flip));
        }
        assertEquals(0.0, StudyMethods.FLIP_RATES.get("aspo_oracle"), 0);
    }

    @Test
    void flippedLabelsLoseTheirAurocAsTheRateSays(@TempDir Path dir) throws Exception {
        java.util.Random rng = new java.util.Random(3);
        StringBuilder lines = new StringBuilder();
        for (int r = 0; r < 400; r++) {
            StringBuilder labels = new StringBuilder();
            for (int k = 0; k < 4; k++) labels.append(k == 0 ? "" : ",").append(rng.nextInt(3) == 0 ? 0 : 1);
            lines.append("{\"chosen\":\"x\",\"chosen_sentence_labels\":[").append(labels).append("]}\n");
        }
        Path truth = dir.resolve("pairs.jsonl");
        Files.writeString(truth, lines.toString());
        for (double p : new double[] {0, 0.1, 0.25, 0.5}) {
            Path flipped = dir.resolve("flip-" + p + ".jsonl");
            StudyMethods.flippedPairs(truth, flipped, p, 7);
            // binary scores flipped with probability p: AUROC = (1-p)^2 + p(1-p) = 1 - p in expectation (1600 labels)
            assertEquals(1 - p, StudyMethods.labelAuroc(truth, flipped), 0.04, "p = " + p);
        }
    }

    @Test
    void theTableShowsMeansAndStds() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("scale", "full");
        root.put("seeds", 3);
        root.put("wall_seconds", 600);
        root.putObject("pairs").put("count", 412).put("chosen_sentence_error_rate", 0.25);
        ObjectNode m = root.putObject("methods").putObject("dpo");
        for (String k : StudyReport.METRICS) m.putObject(k).put("mean", 0.125).put("std", 0.01);
        root.putObject("weight_auroc").putObject("aspo").put("mean", 0.71).put("std", 0.02);
        String md = StudyReport.markdown(root);
        assertTrue(md.contains("| dpo | 12.5 ± 1.0 | 12.5 ± 1.0 |"), md);
        assertTrue(md.contains("412 SeVa pairs") && md.contains("25.0%") && md.contains("10.0 min"), md);
        assertTrue(md.contains("| aspo | 0.710 ± 0.020 |"), md);
        assertFalse(md.contains("sampled"), "no sampled descriptions, no sampled table: " + md);

        // the sampled descriptions: their verdict under the main one, their metrics and paired differences in two tables
        root.put("eval_samples", 4);
        ((ObjectNode) root.get("pairs")).putArray("per_seed_temperature").add(1.5).add(1.25);
        root.put("verdict_sampled", "ASPO vs DPO: wrong sentences of sampled descriptions -1.0 points");
        for (String k : SceneUnits.DESCRIPTION_METRICS) m.putObject(StudyReport.SAMPLED_PREFIX + k).put("mean", 0.25).put("std", 0.02);
        ObjectNode diff = json.createObjectNode().put("mean", -0.01).put("ci_low", -0.02).put("ci_high", 0.0).put("p_value", 0.04)
                .put("seeds_better", 2);
        ObjectNode aspo = root.putObject("paired_sampled").putObject("aspo");
        for (String k : SceneUnits.DESCRIPTION_METRICS) aspo.set(k, diff);
        root.putObject("controls_sampled").set("dpo_vs_sft_sentence_error", diff);
        md = StudyReport.markdown(root);
        assertTrue(md.contains("**On descriptions sampled at the pairs' temperature (computed):** ASPO vs DPO: wrong sentences"), md);
        assertTrue(md.contains("([1.5,1.25] per seed; 4 per evaluation scene"), md);
        assertTrue(md.contains("| dpo | 25.0 ± 2.0 | 25.0 ± 2.0 | 25.0 ± 2.0 | 25.0 ± 2.0 | 25.0 ± 2.0 |"), md);
        assertTrue(md.contains("| aspo | -1.0 points [-2.0, +0.0], p = 0.040, 2/3 |"), md);
        assertTrue(md.contains("DPO minus SFT on the sampled descriptions"), md);
        assertTrue(md.contains("| - | - | - | - | -1.0 points [-2.0, +0.0], p = 0.040, 2/3 |"), "only sentence_error given: " + md);
        assertTrue(md.contains("Holm's correction for the table's 5 comparisons"), md);
        assertFalse(md.contains(StudyReport.HOLM_MARK + " |"), "no p_holm, no mark: " + md);

        // a difference survives Holm's correction only with an adjusted p under 0.05 and an interval clear of 0
        ObjectNode clear = diff.deepCopy().put("ci_high", -0.005).put("p_holm", 0.01);
        ObjectNode holdsZero = diff.deepCopy().put("p_holm", 0.01);
        ObjectNode adjustedAway = clear.deepCopy().put("p_holm", 0.2);
        aspo.set("chair_i", clear);
        aspo.set("chair_s", holdsZero);
        aspo.set("recall", adjustedAway);
        md = StudyReport.markdown(root);
        assertTrue(md.contains("| aspo | -1.0 points [-2.0, -0.5], p = 0.040, 2/3 " + StudyReport.HOLM_MARK
                + " | -1.0 points [-2.0, +0.0], p = 0.040, 2/3 | -1.0 points [-2.0, -0.5], p = 0.040, 2/3 |"), md);

        // the greedy answers: the paired table against DPO, then DPO minus SFT on every metric
        ObjectNode greedy = root.putObject("paired").putObject("aspo");
        for (String k : SceneUnits.METRICS) greedy.set(k, diff);
        root.putObject("controls").set("dpo_vs_sft_pope_random_f1", clear);
        md = StudyReport.markdown(root);
        assertTrue(md.contains("Holm's correction for the table's 6 comparisons"), md);
        assertTrue(md.contains("DPO minus SFT (as above; seeds where DPO is better):\n\n| chair_i | chair_s | recall | attribute_error |"
                + " sentence_error | pope_random_f1 |\n|---|---|---|---|---|---|\n| - | - | - | - | - | -1.0 points [-2.0, -0.5], p = 0.040,"
                + " 2/3 " + StudyReport.HOLM_MARK + " |"), md);
    }

    @Test
    void theRecipeSearchTriesTheHighBetaBesideThePapersAndOlderFoldersKeepTheirs(@TempDir Path dir) throws Exception {
        List<PreferenceRuns.Recipe> paperOnly = new PreferenceRuns(StudyScale.FULL.with("pref_beta_high", "0"), System.out, System.out, () -> null)
                .recipeCandidates();
        assertEquals(List.of("lr2e-05-nll0", "lr2e-05-nll1.0", "lr5e-05-nll0", "lr5e-05-nll1.0"),
                paperOnly.stream().map(PreferenceRuns.Recipe::name).toList(), "the run folders of studies made before beta was searched");
        assertTrue(paperOnly.stream().allMatch(r -> r.beta() == 0.1));
        List<PreferenceRuns.Recipe> both = new PreferenceRuns(StudyScale.FULL, System.out, System.out, () -> null).recipeCandidates();
        assertEquals(8, both.size());
        assertEquals(paperOnly, both.subList(0, 4), "the paper's beta first, so that ties keep it");
        assertEquals("lr5e-05-nll1.0-beta1.0", both.get(7).name());
        assertEquals(1.0, both.get(7).beta());
        assertEquals(0.0, StudyScale.valueBefore("pref_beta_high", 1.0), "a folder made before the setting searched 0.1 only");

        Files.writeString(dir.resolve("recipe.json"), "{\"candidates\": [], \"chosen\": {\"lr\": 2e-5, \"nll_weight\": 1.0}}");
        assertEquals(new PreferenceRuns.Recipe(2e-5, 1.0, 0.1), PreferenceRuns.recipe(dir), "recipe.json without beta: the paper's");
        Files.writeString(dir.resolve("recipe.json"), "{\"candidates\": [], \"chosen\": {\"lr\": 5e-5, \"nll_weight\": 0.0, \"beta\": 1.0}}");
        assertEquals(new PreferenceRuns.Recipe(5e-5, 0.0, 1.0), PreferenceRuns.recipe(dir));
        assertThrows(IllegalArgumentException.class, () -> StudyScale.FULL.with("pref_beta_high", "-1"));
    }

    @Test
    void theDescribingPhaseIsTriedInAnotherOrderUnderItsOwnNamesAndTheirStepsCount(@TempDir Path dir) throws Exception {
        assertEquals(List.of("sft-describe", "sft-describe-order2", "sft-describe-order3"),
                List.of(Reproduction.describeRun(0), Reproduction.describeRun(1), Reproduction.describeRun(2)), "order 0 keeps the name it had");
        assertEquals(List.of("sft-colour", "sft-colour-order2", "sft-colour-order3"),
                List.of(Reproduction.colourRun(0), Reproduction.colourRun(1), Reproduction.colourRun(2)));
        for (int order = 0; order < 3; order++) {
            assertTrue(Reproduction.SFT_RUNS.contains(Reproduction.describeRun(order)) && Reproduction.SFT_RUNS.contains(Reproduction.colourRun(order)),
                    "every phase that can run counts in sft_steps, order " + order);
        }
        assertEquals(1, StudyScale.valueBefore("sft_describe_orders", 2), "a folder made before the setting tried one order");
        assertEquals(2, StudyScale.FULL.sftDescribeOrders());
        assertThrows(IllegalArgumentException.class, () -> StudyScale.FULL.with("sft_describe_orders", "4"));
        assertThrows(IllegalArgumentException.class, () -> StudyScale.FULL.with("sft_describe_orders", "0"));

        // sft_steps sums every phase that ran: two orders, then the last phase
        for (String run : List.of("sft-describe/checkpoint-8000", "sft-colour/checkpoint-5000", "sft-describe-order2/checkpoint-8000",
                "sft-colour-order2/checkpoint-1500", "sft/checkpoint-3000")) {
            Files.createDirectories(dir.resolve(run));
            Files.writeString(dir.resolve(run).resolve("trainer_state.json"), "{}");
        }
        assertEquals(25500, StudyEvaluation.sftSteps(dir));
    }

    @Test
    void theRecipesValidationNumbersAreTheChosenCandidatesAndTheSftModels() throws Exception {
        ObjectMapper json = new ObjectMapper();
        String withSft = """
                {"candidates": [{"lr": 2e-5, "nll_weight": 0.0, "beta": 0.1, "val_chair_i": 0.20, "val_attribute_error": 0.05},
                                {"lr": 5e-5, "nll_weight": 1.0, "beta": 0.1, "val_chair_i": 0.14, "val_attribute_error": 0.04},
                                {"lr": 5e-5, "nll_weight": 1.0, "beta": 1.0, "val_chair_i": 0.12, "val_attribute_error": 0.03}],
                 "chosen": {"lr": 5e-5, "nll_weight": 1.0, "beta": 1.0},
                 "sft": {"val_chair_i": 0.087, "val_attribute_error": 0.021}}""";
        // a study made before the SFT baseline was recorded and beta searched: no sft entry, no beta (0.1)
        String before = """
                {"candidates": [{"lr": 2e-5, "nll_weight": 1.0, "val_chair_i": 0.10, "val_attribute_error": 0.01}],
                 "chosen": {"lr": 2e-5, "nll_weight": 1.0}}""";
        Map<String, List<Double>> v = new LinkedHashMap<>();
        StudyReport.recipeValidation(json.readTree(withSft), v);
        StudyReport.recipeValidation(json.readTree(before), v);
        assertEquals(List.of(0.12, 0.10), v.get("dpo_val_chair_i"));
        assertEquals(List.of(0.03, 0.01), v.get("dpo_val_attribute_error"));
        assertEquals(0.087, v.get("sft_val_chair_i").get(0));
        assertTrue(Double.isNaN(v.get("sft_val_chair_i").get(1)));

        ObjectNode root = json.createObjectNode();
        root.put("scale", "full");
        root.put("seeds", 2);
        root.put("wall_seconds", 60);
        root.putObject("pairs").put("count", 10).put("chosen_sentence_error_rate", 0.2);
        root.putObject("methods");
        root.putObject("weight_auroc");
        ObjectNode rv = root.putObject("recipe_validation");
        v.forEach((k, x) -> StudyReport.stat(rv.putObject(k), x));
        String md = StudyReport.markdown(root);
        assertTrue(md.contains("CHAIR_i of DPO at the chosen recipe [12.0%, 10.0%] against the SFT model's [8.7%, -]"), md);
    }

    @Test
    void aStudyFolderKeepsItsSettings(@TempDir Path dir) throws Exception {
        new Reproduction(StudyScale.SMOKE, 1, dir, System.out).until("world").run();
        assertTrue(Files.isRegularFile(Reproduction.seedDir(dir, 1).resolve("world-val/scenes.jsonl")), "the validation world");
        assertTrue(Files.notExists(Reproduction.seedDir(dir, 1).resolve("tokenizer.json")), "--until world stops after the world");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Reproduction(StudyScale.SMOKE.with("sft_steps", "700"), 1, dir, System.out).until("world").run());
        assertTrue(e.getMessage().contains("sft_steps 500 -> 700"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Reproduction(StudyScale.SMOKE, 1, dir, System.out).until("lunch"));

        // a folder made before a setting existed ran as the code before it did (no NLL weighting, no SFT
        // curriculum): it continues under those values, not today's built-in ones
        Path f = dir.resolve("study.json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(f.toFile());
        for (String k : List.of("nll_sentence_weights", "sft_colour_steps", "sft_lookup_steps", "sft_colour_mixed")) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) old.get("settings")).remove(k);
        }
        Files.writeString(f, old.toString());
        StudyScale before = StudyScale.SMOKE.with("sft_colour_steps", "0").with("sft_lookup_steps", "0").with("sft_colour_mixed", "0");
        new Reproduction(before, 1, dir, System.out).until("world").run();
        IllegalArgumentException curriculum = assertThrows(IllegalArgumentException.class,
                () -> new Reproduction(StudyScale.SMOKE, 1, dir, System.out).until("world").run());
        assertTrue(curriculum.getMessage().contains("sft_colour_steps 0 -> 100"), curriculum.getMessage());
        IllegalArgumentException newer = assertThrows(IllegalArgumentException.class,
                () -> new Reproduction(before.with("nll_sentence_weights", "1"), 1, dir, System.out).until("world").run());
        assertTrue(newer.getMessage().contains("nll_sentence_weights 0 -> 1"), newer.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> StudyScale.SMOKE.with("sft_lookup_steps", "0")).getMessage()
                .contains("sft_lookup_steps: 0 must be at least 1"));
        assertEquals("study setting nll_sentence_weights: 2 is not 0 or 1",
                assertThrows(IllegalArgumentException.class, () -> StudyScale.SMOKE.with("nll_sentence_weights", "2")).getMessage());
    }

    @Test
    void oneSeedRunsAloneAndNeverTwiceAtOnce(@TempDir Path dir) throws Exception {
        assertNull(new Reproduction(StudyScale.SMOKE, 2, dir, System.out).onlySeed(2).until("world").run());
        assertTrue(Files.isRegularFile(Reproduction.seedDir(dir, 2).resolve(".stages/world.json")), "seed 2 ran");
        assertTrue(Files.notExists(Reproduction.seedDir(dir, 1)), "seed 1 did not run");
        assertThrows(IllegalArgumentException.class, () -> new Reproduction(StudyScale.SMOKE, 2, dir, System.out).onlySeed(3));
        Files.createDirectories(Reproduction.seedDir(dir, 1));
        try (var ch = java.nio.channels.FileChannel.open(Reproduction.seedDir(dir, 1).resolve(".lock"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE); var held = ch.lock()) {
            IllegalStateException busy = assertThrows(IllegalStateException.class,
                    () -> new Reproduction(StudyScale.SMOKE, 2, dir, System.out).onlySeed(1).until("world").run());
            assertTrue(busy.getMessage().contains("another process"), busy.getMessage());
        }
        new Reproduction(StudyScale.SMOKE, 2, dir, System.out).onlySeed(1).until("world").run();   // free again
        assertTrue(Files.isRegularFile(Reproduction.seedDir(dir, 1).resolve(".stages/world.json")));
    }

    @Test
    void theMixedSftDataIsTheSftDataThenTheColourQuestions(@TempDir Path dir) throws Exception {
        new Reproduction(StudyScale.SMOKE, 1, dir, System.out).until("world").run();
        Path d = Reproduction.seedDir(dir, 1);
        String name = Reproduction.mixedSftData(d);
        List<String> sft = Files.readAllLines(d.resolve("world/sft.jsonl")), colour = Files.readAllLines(d.resolve("world/colour-questions.jsonl"));
        List<String> mixed = Files.readAllLines(d.resolve(name));
        assertEquals(sft.size() + colour.size(), mixed.size());
        assertEquals(sft, mixed.subList(0, sft.size()));
        assertEquals(colour, mixed.subList(sft.size(), mixed.size()));
        // it sits beside both files, so every record's image resolves
        for (var r : Dataset.load(d.resolve(name), Dataset.Kind.SFT, false).records()) {
            assertTrue(Files.isRegularFile(r.images().get(0)), r.images().get(0).toString());
        }
        Files.writeString(d.resolve("world/colour-questions.jsonl"), "");
        assertEquals(name, Reproduction.mixedSftData(d));
        assertEquals(mixed, Files.readAllLines(d.resolve(name)), "written once: a continued study trains on the same file");
        assertEquals("study setting sft_colour_mixed: 2 is not 0 or 1",
                assertThrows(IllegalArgumentException.class, () -> StudyScale.SMOKE.with("sft_colour_mixed", "2")).getMessage());
    }

    @Test
    void aStudyFolderKeepsItsScale(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("study.json"), "{\"scale\": \"full\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Reproduction(StudyScale.SMOKE, 1, dir, System.out).run());
        assertTrue(e.getMessage().contains("full") && e.getMessage().contains("smoke"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Reproduction(StudyScale.SMOKE, 0, dir.resolve("x"), System.out));
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        assertThrows(IllegalArgumentException.class, () -> new Reproduction(StudyScale.SMOKE, 1, file, System.out));
    }
}
