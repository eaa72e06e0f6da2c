package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.train.ClipSimilarity;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.train.PolicyModels;
import dev.aspo.method.train.SimilaritySource;
import dev.aspo.method.train.StepListener;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.method.train.Trainer;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A seed's preference runs: the recipe search on the validation scenes ({@code recipe} stage) and
 * each method's run from the SFT checkpoint with the chosen recipe ({@code train-M} stages).
 */
final class PreferenceRuns {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StudyScale scale;
    private final PrintStream log, quiet;
    private final Supplier<StepListener> steps;

    /** {@code log}: the study's lines; {@code quiet}: the trainers' own output; {@code steps}: the progress listener of the stage now running. */
    PreferenceRuns(StudyScale scale, PrintStream log, PrintStream quiet, Supplier<StepListener> steps) {
        this.scale = scale;
        this.log = log;
        this.quiet = quiet;
        this.steps = steps;
    }

    /** The DPO beta of the paper (and of TRL's default), the recipe search's first. */
    static final double PAPER_BETA = 0.1;

    /** A preference recipe: learning rate, the weight of the chosen answers' NLL term, and DPO's beta. */
    record Recipe(double lr, double nllWeight, double beta) {
        /** The run's folder name under recipe/ (the paper's beta leaves it as it was before beta was searched). */
        String name() {
            String n = String.format(Locale.ROOT, "lr%.0e-nll%s", lr, nllWeight == 0 ? "0" : String.valueOf(nllWeight));
            return beta == PAPER_BETA ? n : n + "-beta" + beta;
        }

        /** A recipe as recipe.json writes one (a candidate or the choice); without beta, from a folder made before beta was searched: the paper's. */
        static Recipe of(JsonNode n) {
            return new Recipe(n.get("lr").asDouble(), n.get("nll_weight").asDouble(), n.path("beta").asDouble(PAPER_BETA));
        }
    }

    /**
     * The candidates of the recipe search: the scale's learning rate and 2.5 times it, each without
     * and with RPO's NLL term, at the paper's beta and (when pref_beta_high is above 0) at that beta.
     */
    List<Recipe> recipeCandidates() {
        return recipeCandidates(scale);
    }

    /** {@link #recipeCandidates()} of a scale. */
    static List<Recipe> recipeCandidates(StudyScale scale) {
        List<Recipe> r = new ArrayList<>();
        List<Double> betas = scale.prefBetaHigh() > 0 ? List.of(PAPER_BETA, scale.prefBetaHigh()) : List.of(PAPER_BETA);
        for (double beta : betas) {
            for (double lr : new double[] {scale.prefLr(), 2.5 * scale.prefLr()}) for (double nll : new double[] {0, 1}) r.add(new Recipe(lr, nll, beta));
        }
        return r;
    }

    /**
     * The preference recipe, chosen on the validation scenes, never the evaluation ones: DPO is
     * trained from the SFT checkpoint with each candidate and describes the validation scenes;
     * the lowest CHAIR_i wins; ties, which a CHAIR_i near its floor makes common, go to the lower
     * attribute error, then to the earlier candidate. Every method then uses it
     * ({@code recipe.json}: each candidate's validation numbers and the choice).
     */
    void chooseRecipe(Path d, int seed, Tokenizer tok) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        var list = out.putArray("candidates");
        Recipe best = null;
        double bestChair = Double.POSITIVE_INFINITY, bestAttr = Double.POSITIVE_INFINITY;
        for (Recipe r : recipeCandidates()) {
            String run = "recipe/" + r.name();
            if (!Files.isRegularFile(d.resolve(run + "/validation.json"))) {
                Trainer trainer = preferenceTrainer(d, seed, tok, "dpo", r, run);
                trainer.onStep(steps.get());
                trainer.run(RunSettings.resumeFrom(d.resolve(run)));
                LlavaPolicy policy = LlavaPolicy.load(Trainer.latestCheckpoint(d.resolve(run)));
                ObjectNode v = ModelEvaluation.run(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), d.resolve("world-val"), 0, null);
                HfJson.writeText(d.resolve(run + "/validation.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(v));
                for (Path ck : listCheckpoints(d.resolve(run))) Trainer.deleteTree(ck);   // only its numbers are kept
            }
            JsonNode v = Reproduction.readState(d.resolve(run + "/validation.json"));
            ObjectNode c = list.addObject();
            c.put("lr", r.lr());
            c.put("nll_weight", r.nllWeight());
            c.put("beta", r.beta());
            for (String k : List.of("chair_i", "chair_s", "recall", "attribute_error")) c.put("val_" + k, v.get(k).asDouble());
            double chair = v.get("chair_i").asDouble(), attr = v.get("attribute_error").asDouble();
            if (chair < bestChair || chair == bestChair && attr < bestAttr) {
                bestChair = chair;
                bestAttr = attr;
                best = r;
            }
        }
        ObjectNode chosen = out.putObject("chosen");
        chosen.put("lr", best.lr());
        chosen.put("nll_weight", best.nllWeight());
        chosen.put("beta", best.beta());
        JsonNode sft = sftOnValidation(d, tok);
        ObjectNode base = out.putObject("sft");
        for (String k : List.of("chair_i", "chair_s", "recall", "attribute_error")) base.put("val_" + k, sft.get(k).asDouble());
        HfJson.writeText(d.resolve("recipe.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        log.printf(Locale.ROOT, "[%s seed %d] recipe chosen on validation scenes: lr %.1e, nll_weight %s, beta %s (validation CHAIR_i %.1f%%, attribute error %.1f%%;"
                + " the SFT model there: %.1f%%, %.1f%%)%n", scale.name(), seed, best.lr(), best.nllWeight(), best.beta(), 100 * bestChair, 100 * bestAttr,
                100 * sft.get("chair_i").asDouble(), 100 * sft.get("attribute_error").asDouble());
    }

    /**
     * The SFT model's numbers on the same validation scenes, measured as the candidates' are: the
     * baseline a recipe has to beat (recipe.json {@code sft}); kept in {@code recipe/sft/validation.json}.
     */
    private static JsonNode sftOnValidation(Path d, Tokenizer tok) throws IOException {
        Path file = d.resolve("recipe/sft/validation.json");
        if (!Files.isRegularFile(file)) {
            LlavaPolicy policy = LlavaPolicy.load(Trainer.latestCheckpoint(d.resolve("sft")));
            ObjectNode v = ModelEvaluation.run(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), d.resolve("world-val"), 0, null);
            Files.createDirectories(file.getParent());
            HfJson.writeText(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(v));
        }
        return Reproduction.readState(file);
    }

    private static List<Path> listCheckpoints(Path run) throws IOException {
        List<Path> out = new ArrayList<>();
        try (var st = Files.newDirectoryStream(run, "checkpoint-*")) {
            for (Path p : st) out.add(p);
        }
        return out;
    }

    /** The recipe {@code recipe.json} of a seed chose. */
    static Recipe recipe(Path d) throws IOException {
        return Recipe.of(Reproduction.readState(d.resolve("recipe.json")).get("chosen"));
    }

    void trainPreference(Path d, int seed, Tokenizer tok, String m) throws IOException {
        Trainer trainer = preferenceTrainer(d, seed, tok, m, recipe(d), "runs/" + m);
        trainer.onStep(steps.get());
        trainer.run(RunSettings.resumeFrom(d.resolve("runs/" + m)));
    }

    private static Trainer.Mode mode(String m) {
        return m.equals("dpo") ? Trainer.Mode.DPO : Trainer.Mode.ASPO;
    }

    /** The trainer of method {@code m} with recipe {@code r}, from the SFT checkpoint, writing to {@code run}. */
    private Trainer preferenceTrainer(Path d, int seed, Tokenizer tok, String m, Recipe r, String run) throws IOException {
        Path sft = Trainer.latestCheckpoint(d.resolve("sft"));
        Map<String, String> o = RunSettings.common(d, seed, run, sft, scale.prefSteps(), scale.prefBatch(), r.lr());
        o.put("nll_weight", String.valueOf(r.nllWeight()));
        o.put("nll_weighting", scale.nllSentenceWeights() == 1 ? "sentence" : "uniform");
        Path train = d.resolve("pairs/train.jsonl"), eval = d.resolve("pairs/eval.jsonl");
        double flip = StudyMethods.FLIP_RATES.getOrDefault(m, 0.0);
        if (flip > 0) {
            Path flipped = d.resolve("pairs/train-" + m + ".jsonl");
            StudyMethods.flippedPairs(train, flipped, flip, seed);
            train = flipped;
        }
        o.put("train_file", train.toString());
        o.put("eval_file", eval.toString());
        o.put("warmup_steps", String.valueOf(scale.prefSteps() / 10));
        o.put("beta", String.valueOf(r.beta()));
        if (scale.freezeVision() == 1) o.put("freeze", Reproduction.FROZEN);
        o.putAll(StudyMethods.methodSettings(m));
        TrainConfig cfg = TrainConfig.of(o);
        SimilaritySource sim = null;
        if (mode(m) == Trainer.Mode.ASPO && !cfg.str("weights").equals("oracle") && cfg.number("alpha") > 0) {
            sim = ClipSimilarity.load(Trainer.latestCheckpoint(d.resolve("clip")), d.resolve("cache"));
        }
        return new Trainer(mode(m), cfg, PolicyModels.load(sft), PolicyModels.load(sft), tok, sim, quiet);
    }
}
