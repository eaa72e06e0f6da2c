package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.Record;
import dev.aspo.method.train.ClipSimilarity;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.train.SimilaritySource;
import dev.aspo.method.train.Trainer;
import dev.aspo.method.world.Scene;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One seed's evaluation of a method: its descriptions and POPE answers on the evaluation scenes
 * ({@link ModelEvaluation}), the reward accuracy of its run on held-out pairs, its weights' AUROC
 * where it has weights, and for the SFT model the CLIP scorer's AUROC on its own sentences
 * ({@code eval/M.json}, {@code eval/M-answers.jsonl}, {@code eval/scorer.json}).
 */
final class StudyEvaluation {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final int MAX_LENGTH = Reproduction.MAX_LENGTH;

    private final StudyScale scale;

    StudyEvaluation(StudyScale scale) {
        this.scale = scale;
    }

    /** The SFT model's step count (its checkpoint's). */
    static int sftSteps(Path d) throws IOException {
        int steps = 0;
        for (String run : Reproduction.SFT_RUNS) {   // the curriculum's phases that ran
            if (!run.equals("sft") && !Files.isDirectory(d.resolve(run))) continue;
            Path last = Trainer.latestCheckpoint(d.resolve(run));
            if (last == null) throw new IllegalStateException(d.resolve(run) + ": no checkpoint");
            steps += Integer.parseInt(last.getFileName().toString().substring("checkpoint-".length()));
        }
        return steps;
    }

    /**
     * The CLIP scorer on the SFT model's own held-out chosen sentences ({@code pairs/eval.jsonl}),
     * each judged against its scene: AUROC of raw {@code S_i} and of the text-only baseline
     * ({@code eval/scorer.json}).
     */
    private void evaluateScorer(Path d) throws IOException {
        Map<Integer, Scene> scenes = Reproduction.scenes(d.resolve("world-eval"));
        List<ScorerQuality.Item> items = new ArrayList<>();
        for (String line : Files.readAllLines(d.resolve("pairs/eval.jsonl"))) {
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            int id = n.get("scene_id").asInt();
            items.addAll(ScorerQuality.judged(Reproduction.image(d.resolve("world-eval"), id), scenes.get(id), n.get("chosen").asText()));
        }
        Path clip = Trainer.latestCheckpoint(d.resolve("clip"));
        ScorerQuality.Result r = new ScorerQuality(ClipModel.load(clip), Tokenizer.fromFile(clip.resolve("tokenizer.json")),
                ClipImageProcessor.load(clip)).measure(items);
        ObjectNode o = JSON.createObjectNode();
        putAuroc(o, "sentence_auroc", r.sentenceAuroc());
        putAuroc(o, "text_only_auroc", r.textOnlyAuroc());
        o.put("sentences", r.n());
        o.put("wrong_sentences", r.wrong());
        HfJson.writeText(d.resolve("eval/scorer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    private static void putAuroc(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) o.putNull(key);
        else o.put(key, v);
    }

    void evaluate(Path d, Tokenizer tok, String m) throws IOException {
        if (m.equals("sft")) {
            Files.createDirectories(d.resolve("eval"));
            evaluateScorer(d);
        }
        Path ckpt = Trainer.latestCheckpoint(m.equals("sft") ? d.resolve("sft") : d.resolve("runs/" + m));
        LlavaPolicy policy = LlavaPolicy.load(ckpt);
        Files.createDirectories(d.resolve("eval"));
        ObjectNode result = ModelEvaluation.run(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE),
                d.resolve("world-eval"), scale.popeScenes(), d.resolve("eval/" + m + "-answers.jsonl"));
        result.put("reward_accuracy", m.equals("sft") ? 0.0 : lastEval(d.resolve("runs/" + m), "eval_rewards/accuracies"));
        double alpha = StudyMethods.adaptiveAlpha(m);
        if (!Double.isNaN(alpha)) {
            SimilaritySource sim = alpha > 0 ? ClipSimilarity.load(Trainer.latestCheckpoint(d.resolve("clip")), d.resolve("cache")) : null;
            List<Record> pairs = Dataset.load(d.resolve("pairs/eval.jsonl"), Dataset.Kind.PREFERENCE, false, d).records();
            putAuroc(result, "weight_auroc", WeightQuality.auroc(policy, tok, sim, alpha, pairs, MAX_LENGTH, m.equals("aspo_shuffled")));
        } else if (StudyMethods.FLIP_RATES.containsKey(m)) {
            // the flipped labels' AUROC for the true ones, on the held-out pairs flipped the same way
            Path flipped = d.resolve("eval/pairs-" + m + ".jsonl");
            StudyMethods.flippedPairs(d.resolve("pairs/eval.jsonl"), flipped, StudyMethods.FLIP_RATES.get(m), seedOf(d) + 17);
            putAuroc(result, "weight_auroc", StudyMethods.labelAuroc(d.resolve("pairs/eval.jsonl"), flipped));
        }
        HfJson.writeText(d.resolve("eval/" + m + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
    }

    /**
     * The method's descriptions of the evaluation scenes sampled {@code eval_samples} times each at
     * the temperature its seed's SeVa pairs were drawn at ({@code pairs/stats.json}; greedy pairs
     * give one greedy description), with one sampler seed per study seed for every method
     * ({@code eval/M-sampled.json}, {@code eval/M-sampled-answers.jsonl}).
     */
    void sample(Path d, Tokenizer tok, String m) throws IOException {
        JsonNode pairs = JSON.readTree(d.resolve("pairs/stats.json").toFile());
        double temperature = pairs.path("temperature").asDouble(scale.pairTemperature());   // absent from folders made before it
        Path ckpt = Trainer.latestCheckpoint(m.equals("sft") ? d.resolve("sft") : d.resolve("runs/" + m));
        ObjectNode result = ModelEvaluation.sample(LlavaPolicy.load(ckpt), tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE),
                d.resolve("world-eval"), temperature, scale.evalSamples(), seedOf(d) * 7919L + 5, d.resolve("eval/" + m + "-sampled-answers.jsonl"));
        HfJson.writeText(d.resolve("eval/" + m + "-sampled.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
    }

    private static int seedOf(Path seedDir) {
        return Integer.parseInt(seedDir.getFileName().toString().substring("seed-".length()));
    }

    /** The value of {@code key} on the last line of a run's metrics.jsonl that has it. */
    static double lastEval(Path run, String key) throws IOException {
        double v = Double.NaN;
        for (String line : Files.readAllLines(run.resolve(Trainer.METRICS))) {
            JsonNode n = JSON.readTree(line);
            if (n.has(key)) v = n.get(key).asDouble();
        }
        if (Double.isNaN(v)) throw new IllegalStateException(run.resolve(Trainer.METRICS) + ": no " + key);
        return v;
    }}
