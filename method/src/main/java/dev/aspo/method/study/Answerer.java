package dev.aspo.method.study;

import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy answers of a LLaVA policy to (image, prompt) questions, in batches. The prompt is built
 * exactly as the trainers build it ({@link LlavaPolicy#promptText}, then the tokenizer with its
 * BOS), so the model answers in the format it was trained on.
 */
public final class Answerer {
    private static final int BATCH = 32;

    private final LlavaPolicy policy;
    private final Tokenizer tokenizer;
    private final ClipImageProcessor processor;
    private final int maxNewTokens;
    private final Sampler sampler;

    /** Greedy answers. */
    public Answerer(LlavaPolicy policy, Tokenizer tokenizer, ClipImageProcessor processor, int maxNewTokens) {
        this(policy, tokenizer, processor, maxNewTokens, Sampler.greedy());
    }

    /** Answers drawn by {@code sampler} (one sampler for all batches: the same questions in the same order give the same answers). */
    public Answerer(LlavaPolicy policy, Tokenizer tokenizer, ClipImageProcessor processor, int maxNewTokens, Sampler sampler) {
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.maxNewTokens = maxNewTokens;
        this.sampler = sampler;
    }

    /** One question about one image. */
    public record Question(RgbImage image, String prompt) {}

    /** The decoded answers (special tokens dropped), in the order of {@code questions}. */
    public List<String> answer(List<Question> questions) {
        List<String> out = new ArrayList<>(questions.size());
        int eos = policy.eosId(), pad = policy.padId();
        for (int from = 0; from < questions.size(); from += BATCH) {
            List<Question> part = questions.subList(from, Math.min(questions.size(), from + BATCH));
            List<int[]> prompts = new ArrayList<>(part.size());
            RgbImage[] images = new RgbImage[part.size()];
            for (int i = 0; i < part.size(); i++) {
                prompts.add(tokenizer.encode(policy.promptText(part.get(i).prompt(), 1), true).ids());
                images[i] = part.get(i).image();
            }
            Tensor pixels = processor.pixelValues(images);
            for (int[] ids : policy.model().generate(prompts, pixels, sampler, maxNewTokens, new int[] {eos}, pad)) {
                out.add(tokenizer.decode(ids, true).strip());
            }
        }
        return out;
    }
}
