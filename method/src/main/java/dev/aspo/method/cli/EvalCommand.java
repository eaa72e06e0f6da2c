package dev.aspo.method.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.study.ModelEvaluation;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo eval}: a LLaVA checkpoint on a shapes-world folder ({@code aspo world generate}), as
 * the study evaluates its models ({@link ModelEvaluation}): a greedy description of every scene,
 * judged against the scene's ground truth (CHAIR_i, CHAIR_s, object recall, attribute errors), and
 * the yes/no probes of {@code pope.jsonl} (F1 per split, share of yes answers). Prints the metrics
 * as one JSON object; {@code --out} writes them too, {@code --answers} keeps every answer with the
 * judge's verdicts. With {@code --samples K --temperature T} every scene is also described K times
 * at temperature T ({@link ModelEvaluation#sample}, seeded by {@code --seed}), judged the same way
 * ({@code "sampled"}). The model directory is a training checkpoint or any LLaVA directory with
 * {@code preprocessor_config.json}, and {@code tokenizer.json} unless {@code --tokenizer} names one.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a LLaVA checkpoint on a shapes-world folder (aspo world generate): CHAIR_i, CHAIR_s, "
                + "object recall and attribute errors of its scene descriptions, POPE F1 per split and yes ratio; "
                + "prints the metrics as JSON.")
final class EvalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "a llava model directory (a checkpoint): config.json, weights, preprocessor_config.json")
    Path model;

    @Option(names = "--world", required = true, paramLabel = "DIR",
            description = "a shapes-world folder: scenes.jsonl, images/, pope.jsonl")
    Path world;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json (default: the model directory's)")
    Path tokenizer;

    @Option(names = "--pope-scenes", paramLabel = "N",
            description = "ask the POPE probes of the first N scenes (default: all; 0: none)")
    Integer popeScenes;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the metrics to this JSON file")
    Path out;

    @Option(names = "--answers", paramLabel = "FILE", description = "write every answer and the judge's verdicts here (JSONL)")
    Path answers;

    @Option(names = "--samples", defaultValue = "0", paramLabel = "K",
            description = "also describe every scene K times sampled at --temperature and judge those (\"sampled\" in the JSON; default: ${DEFAULT-VALUE}, none)")
    int samples;

    @Option(names = "--temperature", paramLabel = "T", description = "the sampled descriptions' temperature (above 0; required with --samples)")
    Double temperature;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "the sampled descriptions' seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--sampled-answers", paramLabel = "FILE", description = "write every sampled description and its verdicts here (JSONL)")
    Path sampledAnswers;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws IOException {
        device.select();
        if (!Files.isDirectory(world)) throw new IllegalArgumentException("--world " + world + ": no such directory");
        String type = AutoModel.modelType(model);
        if (!LlavaConfig.MODEL_TYPE.equals(type)) {
            throw new IllegalArgumentException(model + " is a " + type + " model; eval describes images and needs a llava model");
        }
        Path tokFile = tokenizer != null ? tokenizer : model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new IllegalArgumentException(tokFile + ": no such file" + (tokenizer == null ? " (give --tokenizer)" : ""));
        }
        int pope = popeScenes == null ? Integer.MAX_VALUE : popeScenes;
        if (pope < 0) throw new IllegalArgumentException("--pope-scenes must be 0 or more, got " + pope);
        if (samples < 0) throw new IllegalArgumentException("--samples must be 0 or more, got " + samples);
        if (samples > 0 && (temperature == null || !(temperature > 0))) {
            throw new IllegalArgumentException("--samples " + samples + " needs --temperature above 0"
                    + (temperature == null ? "" : ", got " + temperature));
        }
        if (samples == 0 && (temperature != null || sampledAnswers != null)) {
            throw new IllegalArgumentException((temperature != null ? "--temperature" : "--sampled-answers") + " is for sampled descriptions: give --samples K too");
        }
        Tokenizer tok = Tokenizer.fromFile(tokFile);
        LlavaPolicy policy = LlavaPolicy.load(model);
        ObjectNode result = ModelEvaluation.run(policy, tok, policy.processor(), world, pope, answers);
        if (samples > 0) result.set("sampled", ModelEvaluation.sample(policy, tok, policy.processor(), world, temperature, samples, seed, sampledAnswers));
        String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result);
        if (out != null) HfJson.writeText(out, text + "\n");
        PrintWriter w = spec.commandLine().getOut();
        w.println(text);
        w.flush();
        return 0;
    }
}
