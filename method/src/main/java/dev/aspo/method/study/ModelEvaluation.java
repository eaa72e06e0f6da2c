package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.world.Describer;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.PopeSplit;
import dev.aspo.method.world.ResponseJudgement;
import dev.aspo.method.world.Scene;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One model on a shapes world ({@code aspo world generate}'s folder; the study's held-out {@code
 * world-eval}): a description of every scene (the first describe instruction, greedy), judged by
 * {@link Evaluation#descriptions}, and the POPE probes of the first {@code popeScenes} scenes, per
 * split. The answers, with the judge's verdicts, go to {@code answersFile} (when not null) beside
 * the numbers, so a reader can check what the judge judged. {@code aspo eval} and the study call it.
 */
public final class ModelEvaluation {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelEvaluation() {}

    /** The model's descriptions of a world's scenes: the first describe instruction, greedy, 64 tokens at most. */
    public record Descriptions(List<Integer> ids, List<Scene> scenes, List<String> answers) {}

    /** Describes every scene of {@code world} ({@code scenes.jsonl} and {@code images/}). */
    public static Descriptions describe(LlavaPolicy policy, Tokenizer tok, ClipImageProcessor proc, Path world) throws IOException {
        return describe(policy, tok, proc, world, 1, Sampler.greedy());
    }

    /** Every scene described {@code k} times in a row by one {@code sampler}; each entry of the result is one description. */
    private static Descriptions describe(LlavaPolicy policy, Tokenizer tok, ClipImageProcessor proc, Path world, int k, Sampler sampler)
            throws IOException {
        Map<Integer, Scene> scenes = Reproduction.scenes(world);
        if (scenes.isEmpty()) throw new IllegalArgumentException(world.resolve("scenes.jsonl") + " holds no scene");
        String instruction = Describer.DESCRIBE_INSTRUCTIONS.get(0);
        List<Scene> sceneList = new ArrayList<>();
        List<Answerer.Question> qs = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        for (var e : scenes.entrySet()) {
            RgbImage img = RgbImage.read(Reproduction.image(world, e.getKey()));
            for (int i = 0; i < k; i++) {
                sceneList.add(e.getValue());
                ids.add(e.getKey());
                qs.add(new Answerer.Question(img, instruction));
            }
        }
        return new Descriptions(ids, sceneList, new Answerer(policy, tok, proc, 64, sampler).answer(qs));
    }

    /**
     * {@code samples} descriptions of every scene of {@code world} drawn at {@code temperature} (the
     * first describe instruction, 64 tokens at most; one sampler seeded with {@code seed} for all of
     * them, so the same model gives the same answers), judged like the greedy ones: {@link
     * Evaluation#descriptions} over all of them, with {@code temperature} and {@code samples}. The
     * answers, each with its scene, sample index and the judge's verdicts, go to {@code answersFile}
     * (when not null). The greedy description shows a model's most likely answer, which a preference
     * run may leave unchanged while it moves the rest of the distribution; these show the answers a
     * model gives at the temperature the SeVa pairs were drawn at, where the chosen answers hold the
     * wrong sentences that ASPO's weights discount. Temperature 0 is greedy (then one sample).
     */
    public static ObjectNode sample(LlavaPolicy policy, Tokenizer tok, ClipImageProcessor proc, Path world, double temperature,
                                    int samples, long seed, Path answersFile) throws IOException {
        if (samples < 1) throw new IllegalArgumentException("samples must be at least 1, got " + samples);
        if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be 0 or above, got " + temperature);
        int k = temperature > 0 ? samples : 1;
        Descriptions d = describe(policy, tok, proc, world, k,
                temperature > 0 ? Sampler.sampling((float) temperature, 0, 1f, seed) : Sampler.greedy());
        List<Integer> ids = d.ids();
        List<Scene> sceneList = d.scenes();
        List<String> answers = d.answers();
        ObjectNode result = JSON.createObjectNode();
        result.put("temperature", temperature);
        result.put("samples", k);
        List<ResponseJudgement> judged = Evaluation.judge(sceneList, answers);   // once, for the metrics and the answers file
        Evaluation.judged(sceneList, judged).forEach(result::put);
        result.put("descriptions", answers.size());
        if (answersFile != null) {
            List<String> kept = new ArrayList<>();
            for (int i = 0; i < answers.size(); i++) kept.add(judgedDescription(ids.get(i), i % k, answers.get(i), judged.get(i)));
            HfJson.writeText(answersFile, String.join("\n", kept) + "\n");
        }
        return result;
    }

    /**
     * @param proc       the model's image preprocessing
     * @param world      a folder with {@code scenes.jsonl}, {@code images/} and {@code pope.jsonl}
     * @param popeScenes probes of scenes with a lower id are asked (0: no POPE)
     */
    public static ObjectNode run(LlavaPolicy policy, Tokenizer tok, ClipImageProcessor proc, Path world, int popeScenes,
                                 Path answersFile) throws IOException {
        checkWorld(world, popeScenes);
        return run(policy, tok, proc, world, popeScenes, answersFile, describe(policy, tok, proc, world));
    }

    /** The same with the scenes already described by {@link #describe} (a caller that also judges them itself). */
    public static ObjectNode run(LlavaPolicy policy, Tokenizer tok, ClipImageProcessor proc, Path world, int popeScenes,
                                 Path answersFile, Descriptions described) throws IOException {
        checkWorld(world, popeScenes);
        Answerer yesNo = new Answerer(policy, tok, proc, 4);
        List<Scene> sceneList = described.scenes();
        List<Integer> ids = described.ids();
        List<String> answers = described.answers();
        ObjectNode result = JSON.createObjectNode();
        List<ResponseJudgement> judged = Evaluation.judge(sceneList, answers);   // once, for the metrics and the answers file
        Evaluation.judged(sceneList, judged).forEach(result::put);

        List<String> kept = new ArrayList<>();
        for (int i = 0; i < answers.size(); i++) kept.add(judgedDescription(ids.get(i), -1, answers.get(i), judged.get(i)));

        // POPE: the probes WorldWriter wrote for the first popeScenes scenes
        List<Answerer.Question> probes = new ArrayList<>();
        List<Boolean> truth = new ArrayList<>();
        List<String> splits = new ArrayList<>();
        List<Integer> probeScenes = new ArrayList<>();
        Map<String, RgbImage> images = new java.util.HashMap<>();   // every probe of a scene asks about one image
        Path popeFile = world.resolve("pope.jsonl");
        List<String> lines = Files.readAllLines(popeFile);
        for (int ln = 0; ln < lines.size(); ln++) {
            String line = lines.get(ln);
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(popeFile + ":" + (ln + 1) + ": not JSON (" + e.getOriginalMessage() + ")");
            }
            for (String key : new String[] {"scene_id", "images", "prompt", "answer", "split"}) {
                if (!n.hasNonNull(key)) throw new IllegalArgumentException(popeFile + ":" + (ln + 1) + ": no \"" + key + "\"");
            }
            if (n.get("scene_id").asInt() >= popeScenes) continue;
            String file = n.get("images").get(0).asText();
            RgbImage img = images.get(file);
            if (img == null) images.put(file, img = RgbImage.read(world.resolve(file)));
            probes.add(new Answerer.Question(img, n.get("prompt").asText()));
            truth.add(n.get("answer").asText().equals("yes"));
            splits.add(n.get("split").asText());
            probeScenes.add(n.get("scene_id").asInt());
        }
        List<String> said = yesNo.answer(probes);
        long yes = 0;
        for (int i = 0; i < said.size(); i++) {
            if (Boolean.TRUE.equals(Judge.yesNo(said.get(i)))) yes++;
            ObjectNode a = JSON.createObjectNode();
            a.put("scene_id", probeScenes.get(i));
            a.put("split", splits.get(i));
            a.put("prompt", probes.get(i).prompt());
            a.put("truth", truth.get(i) ? "yes" : "no");
            a.put("answer", said.get(i));
            kept.add(a.toString());
        }
        for (PopeSplit split : PopeSplit.values()) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < splits.size(); i++) if (splits.get(i).equals(split.key())) idx.add(i);
            boolean[] t = new boolean[idx.size()];
            Boolean[] s = new Boolean[idx.size()];
            for (int k = 0; k < t.length; k++) {
                t[k] = truth.get(idx.get(k));
                s[k] = Judge.yesNo(said.get(idx.get(k)));
            }
            result.put("pope_" + split.key() + "_f1", t.length == 0 ? 0 : Evaluation.f1(t, s));
        }
        result.put("pope_yes_ratio", said.isEmpty() ? 0 : (double) yes / said.size());
        result.put("descriptions", answers.size());
        result.put("probes", said.size());
        if (answersFile != null) HfJson.writeText(answersFile, String.join("\n", kept) + "\n");
        return result;
    }

    /** One line of an answers file: a scene's description ({@code sample} -1 when it is the only one) and the judge's verdicts. */
    private static String judgedDescription(int sceneId, int sample, String answer, ResponseJudgement judgement) {
        ObjectNode a = JSON.createObjectNode();
        a.put("scene_id", sceneId);
        if (sample >= 0) a.put("sample", sample);
        a.put("prompt", Describer.DESCRIBE_INSTRUCTIONS.get(0));
        a.put("answer", answer);
        a.set("judgement", JSON.valueToTree(judgement));
        return a.toString();
    }

    private static void checkWorld(Path world, int popeScenes) {
        for (String f : new String[] {"scenes.jsonl", "pope.jsonl"}) {
            if (!Files.isRegularFile(world.resolve(f))) {
                throw new IllegalArgumentException(world + " has no " + f + ": it is not a shapes-world folder (make one with "
                        + "aspo world generate)");
            }
        }
        if (popeScenes < 0) throw new IllegalArgumentException("POPE scenes must be 0 or more, got " + popeScenes);
    }
}
