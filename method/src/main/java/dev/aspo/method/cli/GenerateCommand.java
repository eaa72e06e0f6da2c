package dev.aspo.method.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.llava.LlavaProcessor;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo generate}: a LLaVA model's answer for one image and one prompt, as transformers'
 * processor + {@code generate} + {@code decode(skip_special_tokens=True)} give it.
 *
 * <p>The model directory must hold {@code tokenizer.json} (with an {@code <image>} token whose id
 * is the config's {@code image_token_index}) and {@code preprocessor_config.json} (CLIP's image
 * preprocessing). The prompt is LLaVA-1.5's chat template for one user turn,
 * {@code "USER: <image>\n" + prompt + " ASSISTANT:"} (see {@link LlavaProcessor}), with the image
 * token expanded to one token per image feature and BOS added by the tokenizer. Decoding is greedy
 * unless {@code --temperature} is above 0, then sampled with top-k/top-p and a seed. Generation ends
 * at an end-of-sequence token ({@code generation_config.json}'s {@code eos_token_id} when the
 * directory has one, else the text config's) or after {@code --max-new-tokens}. With
 * {@code --adapter}, a LoRA adapter ({@link LoraModel#load}) is applied on top of the model.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Answer a prompt about an image with a LLaVA model (LLaVA-1.5 chat template: \"USER: <image>\\n{prompt} ASSISTANT:\"); "
                + "prints the decoded answer.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "a llava model directory with tokenizer.json and preprocessor_config.json")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "a LoRA adapter for the model (PEFT's save_pretrained layout), applied"
            + " without merging")
    Path adapter;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "the image (PNG or JPEG)")
    Path image;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "the user's message")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", paramLabel = "N", description = "most tokens to generate (default: ${DEFAULT-VALUE})")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "sample at this temperature (> 0); absent or 0: greedy decoding")
    Float temperature;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling: keep the most likely tokens up to this mass, in (0, 1] (sampling only; default 1 = off)")
    Float topP;

    @Option(names = "--top-k", paramLabel = "K", description = "keep the K most likely tokens (sampling only; default 0 = off)")
    Integer topK;

    @Option(names = "--seed", paramLabel = "S", description = "random seed of the sampler (sampling only; default 0)")
    Long seed;

    @Mixin
    DeviceOption device;

    @Mixin
    DtypeOption dtype;

    @Override
    public Integer call() throws IOException {
        device.select();
        Precision weights = dtype.precision();
        if (maxNewTokens < 1) throw new IllegalArgumentException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        Sampler sampler = sampler();
        String type = AutoModel.modelType(model);
        if (!LlavaConfig.MODEL_TYPE.equals(type)) {
            throw new IllegalArgumentException(model + " is a " + type + " model; generate answers about an image and needs a llava model");
        }
        if (!Files.isRegularFile(image)) throw new IOException(image + ": no such file");
        LlavaConfig config = LlavaConfig.load(model);
        LlavaProcessor processor = LlavaProcessor.load(model, config);       // checks tokenizer and preprocessor first
        LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(model, weights);
        if (adapter != null) LoraModel.load(m, adapter);
        int[] ids = processor.encode(LlavaProcessor.chatPrompt(prompt));
        Tensor pixels = processor.pixelValues(List.of(image));
        int[] eos = eosTokenIds(config);
        int pad = padTokenId(config, eos);
        int[] answer = m.generate(List.of(ids), pixels, sampler, maxNewTokens, eos, pad).get(0);
        PrintWriter out = spec.commandLine().getOut();
        out.println(processor.decode(answer));
        out.flush();
        return 0;
    }

    private Sampler sampler() {
        boolean sampling = temperature != null && temperature != 0f;
        if (!sampling) {
            String given = topP != null ? "--top-p" : topK != null ? "--top-k" : seed != null ? "--seed" : null;
            if (given != null) throw new IllegalArgumentException(given + " applies to sampling only; give --temperature > 0 as well");
            return Sampler.greedy();
        }
        return Sampler.sampling(temperature, topK == null ? 0 : topK, topP == null ? 1f : topP, seed == null ? 0L : seed);
    }

    /** generation_config.json's eos_token_id (an int or a list) when present, else the text config's. */
    private int[] eosTokenIds(LlavaConfig config) throws IOException {
        JsonNode gen = generationConfig();
        if (gen != null && gen.has("eos_token_id")) {
            JsonNode e = gen.get("eos_token_id");
            if (e.isNull()) return new int[0];
            if (e.isIntegralNumber()) return new int[] {e.intValue()};
            if (e.isArray()) {
                int[] ids = new int[e.size()];
                for (int i = 0; i < ids.length; i++) ids[i] = e.get(i).intValue();
                return ids;
            }
            throw new IllegalArgumentException(model.resolve("generation_config.json") + ": \"eos_token_id\" must be an integer or a list, got " + e);
        }
        return config.textConfig.eosTokenIds();
    }

    /** The id that fills padding (unused for one prompt, but it must be a valid token). */
    private int padTokenId(LlavaConfig config, int[] eos) throws IOException {
        JsonNode gen = generationConfig();
        Integer pad = config.textConfig.padTokenId;
        if (gen != null && gen.path("pad_token_id").isIntegralNumber()) pad = gen.get("pad_token_id").intValue();
        if (pad == null || pad < 0 || pad >= config.textConfig.vocabSize) pad = eos.length > 0 ? eos[0] : 0;
        return pad >= 0 && pad < config.textConfig.vocabSize ? pad : 0;
    }

    private JsonNode generationConfig() throws IOException {
        Path f = model.resolve("generation_config.json");
        return Files.isRegularFile(f) ? HfJson.readObject(f) : null;
    }
}
