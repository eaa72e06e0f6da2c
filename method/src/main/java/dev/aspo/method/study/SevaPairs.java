package dev.aspo.method.study;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.train.PolicyModel;
import dev.aspo.method.train.Trainer;
import dev.aspo.method.world.Describer;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SentenceJudgement;
import dev.aspo.method.world.Verdict;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * SeVa preference pairs from the SFT model's own answers: per scene it answers a describe
 * instruction on the clean image (chosen) and on a DDPM-noised copy, t = 500 of 1000 (rejected);
 * answers are greedy, or sampled at {@code pair_temperature} (seeded per world), which keeps the
 * chosen answers wrong often enough once the SFT model has trained long enough to answer yes/no
 * questions. With {@code pair_temperature} -1 the temperature is chosen per seed on the validation
 * scenes: the lowest of {@link #TEMPERATURES} at which at least {@link #MIN_CHOSEN_ERROR} of the
 * chosen sentences are wrong (the highest if none), since ASPO has nothing to discount in chosen
 * answers that are all right. Identical pairs are dropped and every sentence is labelled by the judge (for the oracle methods
 * and the weights' AUROC; the other methods never see the labels). Training pairs come from the
 * training scenes, held-out pairs from the evaluation and the validation scenes.
 */
final class SevaPairs {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final int MAX_LENGTH = Reproduction.MAX_LENGTH, DIFFUSION_STEP = Reproduction.DIFFUSION_STEP;

    private final StudyScale scale;
    private final PrintStream log;

    SevaPairs(StudyScale scale, PrintStream log) {
        this.scale = scale;
        this.log = log;
    }

    /** The temperatures {@code pair_temperature = -1} chooses from, and the chosen-sentence error it asks for. */
    static final double[] TEMPERATURES = {0, 0.5, 0.75, 1.0, 1.25, 1.5};
    static final double MIN_CHOSEN_ERROR = 0.15;

    void make(Path d, int seed, Tokenizer tok) throws IOException {
        LlavaPolicy sft = LlavaPolicy.load(Trainer.latestCheckpoint(d.resolve("sft")));
        SequenceEncoder enc = new SequenceEncoder(tok, sft.eosId(), MAX_LENGTH);
        Files.createDirectories(d.resolve("pairs"));
        ObjectNode n = JSON.createObjectNode();
        double temperature = scale.pairTemperature();
        if (temperature < 0) {
            ObjectNode tried = JSON.createObjectNode();
            temperature = chooseTemperature(t -> {
                double err = pairs(d, "world-val", scale.valScenes(), seed + 29, answerer(sft, tok, seed + 29, t), enc, sft, d.resolve("pairs/val.jsonl")).errorRate();
                tried.put(String.valueOf(t), err);
                log.printf(Locale.ROOT, "[%s seed %d] SeVa answers at temperature %s: %.1f%% of the validation chosen sentences wrong%n",
                        scale.name(), seed, t, 100 * err);
                return err;
            });
            n.set("validation_chosen_error_by_temperature", tried);
        }
        n.put("temperature", temperature);
        PairStats train = pairs(d, "world", scale.pairScenes(), seed, answerer(sft, tok, seed, temperature), enc, sft, d.resolve("pairs/train.jsonl"));
        PairStats eval = pairs(d, "world-eval", scale.evalScenes(), seed + 17, answerer(sft, tok, seed + 17, temperature), enc, sft, d.resolve("pairs/eval.jsonl"));
        if (scale.pairTemperature() >= 0) {
            pairs(d, "world-val", scale.valScenes(), seed + 29, answerer(sft, tok, seed + 29, temperature), enc, sft, d.resolve("pairs/val.jsonl"));
        }
        n.put("count", train.count);
        n.put("scenes", train.scenes);
        n.put("chosen_sentences", train.sentences);
        n.put("chosen_sentence_error_rate", train.errorRate());
        n.put("rejected_sentence_error_rate", train.rejectedErrorRate());
        n.put("eval_count", eval.count);
        n.put("eval_chosen_sentence_error_rate", eval.errorRate());
        HfJson.writeText(d.resolve("pairs/stats.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        log.printf(Locale.ROOT, "[%s seed %d] %d pairs from %d scenes at temperature %s; chosen sentence error rate %.3f (rejected %.3f)%n",
                scale.name(), seed, train.count, train.scenes, temperature, train.errorRate(), train.rejectedErrorRate());
        if (train.count == 0) throw new IllegalStateException(d + ": every SeVa pair was identical; no preference data");
    }

    /** An I/O-bound function of a temperature: the validation chosen-sentence error of answers sampled at it. */
    interface ErrorAt {
        double at(double temperature) throws IOException;
    }

    /**
     * The lowest of {@link #TEMPERATURES} whose validation chosen-sentence error is at least
     * {@link #MIN_CHOSEN_ERROR}, trying them in order and stopping there; the highest if none is.
     * The last one tried is the chosen one, so the validation pairs it wrote are the chosen temperature's.
     */
    static double chooseTemperature(ErrorAt error) throws IOException {
        for (double t : TEMPERATURES) {
            if (error.at(t) >= MIN_CHOSEN_ERROR) return t;
        }
        return TEMPERATURES[TEMPERATURES.length - 1];
    }

    private static Answerer answerer(LlavaPolicy sft, Tokenizer tok, long seed, double temperature) {
        Sampler sampler = temperature > 0 ? Sampler.sampling((float) temperature, 0, 1f, seed * 7919L + 3) : Sampler.greedy();
        return new Answerer(sft, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), 64, sampler);
    }

    private static final class PairStats {
        int count, scenes;
        long sentences, wrong, rejectedSentences, rejectedWrong;

        double errorRate() {
            return sentences == 0 ? 0 : (double) wrong / sentences;
        }

        double rejectedErrorRate() {
            return rejectedSentences == 0 ? 0 : (double) rejectedWrong / rejectedSentences;
        }
    }

    private PairStats pairs(Path d, String world, int n, long seed, Answerer answerer, SequenceEncoder enc, PolicyModel policy,
                            Path file) throws IOException {
        Map<Integer, Scene> scenes = Reproduction.scenes(d.resolve(world));
        Random rng = new Random(seed * 1_000_003L + 11);
        List<Integer> ids = new ArrayList<>(scenes.keySet()).subList(0, Math.min(n, scenes.size()));
        List<String> prompts = new ArrayList<>();
        List<Answerer.Question> clean = new ArrayList<>(), noised = new ArrayList<>();
        for (int id : ids) {
            String prompt = Describer.DESCRIBE_INSTRUCTIONS.get(rng.nextInt(Describer.DESCRIBE_INSTRUCTIONS.size()));
            RgbImage img = RgbImage.read(Reproduction.image(d.resolve(world), id));
            prompts.add(prompt);
            clean.add(new Answerer.Question(img, prompt));
            noised.add(new Answerer.Question(DdpmNoise.noise(img, DIFFUSION_STEP, rng), prompt));
        }
        List<String> chosen = answerer.answer(clean), rejected = answerer.answer(noised);
        if (!ids.isEmpty()) {
            log.printf(Locale.ROOT, "  example (%s scene %d): %s%n    chosen:   %s%n    rejected: %s%n", world, ids.get(0),
                    prompts.get(0), chosen.get(0), rejected.get(0));
        }
        PairStats st = new PairStats();
        st.scenes = ids.size();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            String c = chosen.get(i), r = rejected.get(i);
            if (c.isBlank() || r.isBlank() || c.equals(r)) continue;
            Scene scene = scenes.get(ids.get(i));
            String where = file + " scene " + ids.get(i);
            double[] lc = labels(scene, enc.encode(policy.promptText(prompts.get(i), 1), c, where));
            double[] lr = labels(scene, enc.encode(policy.promptText(prompts.get(i), 1), r, where));
            for (double v : lc) {
                st.sentences++;
                if (v < 0.5) st.wrong++;
            }
            for (double v : lr) {
                st.rejectedSentences++;
                if (v < 0.5) st.rejectedWrong++;
            }
            ObjectNode o = JSON.createObjectNode();
            o.putArray("images").add(file.getParent().relativize(Reproduction.image(d.resolve(world), ids.get(i))).toString().replace('\\', '/'));
            o.put("prompt", prompts.get(i));
            o.put("chosen", c);
            o.put("rejected", r);
            var a = o.putArray("chosen_sentence_labels");
            for (double v : lc) a.add((int) v);
            var b = o.putArray("rejected_sentence_labels");
            for (double v : lr) b.add((int) v);
            o.put("scene_id", ids.get(i));
            lines.add(o.toString());
            st.count++;
        }
        HfJson.writeText(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
        return st;
    }

    /** 1 for each sentence (as the trainer's splitter and aligner cut it) the judge finds correct, else 0. */
    static double[] labels(Scene scene, Sequence s) {
        double[] l = new double[s.sentences().size()];
        for (int i = 0; i < l.length; i++) {
            SentenceJudgement j = Judge.judgeSentence(scene, s.sentences().get(i));
            l[i] = j.verdict() == Verdict.CORRECT ? 1 : 0;
        }
        return l;
    }
}
