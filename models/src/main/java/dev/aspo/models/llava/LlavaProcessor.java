package dev.aspo.models.llava;

import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What transformers' {@code LlavaProcessor} does for one prompt and its images: the LLaVA-1.5 chat
 * template, the image token repeated once per image feature, tokenisation with the model's
 * {@code tokenizer.json} (special tokens added, i.e. BOS), and pixel values from the model's
 * {@code preprocessor_config.json}.
 *
 * <p>The chat template is llava-hf's LLaVA-1.5 {@code chat_template} (also the one of
 * transformers' LLaVA processor tests) applied to one user turn holding an image and a text,
 * with {@code add_generation_prompt}:
 *
 * <pre>
 *   "USER: " + "&lt;image&gt;\n" + text + " " + "ASSISTANT:"      e.g.  "USER: &lt;image&gt;\nWhat is this? ASSISTANT:"
 * </pre>
 *
 * Each {@code <image>} in the text is then replaced by {@code featuresPerImage} copies (576 for
 * LLaVA-1.5: 24 x 24 patches, class token dropped), as the processor's {@code replace_image_token}
 * does, before the text is tokenised.
 */
public final class LlavaProcessor {
    public static final String IMAGE_TOKEN = "<image>";
    public static final String TOKENIZER_FILE = "tokenizer.json";

    public final Tokenizer tokenizer;
    public final ClipImageProcessor imageProcessor;
    private final int featuresPerImage;

    /** Checks that the tokenizer's {@code <image>} is the model's image token. */
    public LlavaProcessor(Tokenizer tokenizer, ClipImageProcessor imageProcessor, LlavaConfig config, String source) {
        int id = tokenizer.tokenToId(IMAGE_TOKEN);
        if (id < 0) {
            throw new IllegalArgumentException(source + ": the tokenizer has no " + IMAGE_TOKEN + " token (LLaVA prompts need it)");
        }
        if (id != config.imageTokenIndex) {
            throw new IllegalArgumentException(source + ": the tokenizer maps " + IMAGE_TOKEN + " to id " + id
                    + " but config.json's image_token_index is " + config.imageTokenIndex);
        }
        this.tokenizer = tokenizer;
        this.imageProcessor = imageProcessor;
        this.featuresPerImage = config.featuresPerImage();
    }

    /** The processor of a model directory: its {@code tokenizer.json} and {@code preprocessor_config.json}. */
    public static LlavaProcessor load(Path dir, LlavaConfig config) throws IOException {
        Path tok = dir.resolve(TOKENIZER_FILE), pre = dir.resolve(ClipImageProcessor.FILE);
        for (Path p : new Path[] {tok, pre}) {
            if (!Files.isRegularFile(p)) {
                throw new IOException(dir + ": no " + p.getFileName() + " (the model directory needs its tokenizer.json and "
                        + "preprocessor_config.json to turn an image and a prompt into inputs)");
            }
        }
        return new LlavaProcessor(Tokenizer.fromFile(tok), ClipImageProcessor.load(pre), config, tok.toString());
    }

    /** LLaVA-1.5's chat template for one user turn with one image: {@code "USER: <image>\n" + text + " ASSISTANT:"}. */
    public static String chatPrompt(String userText) {
        return "USER: " + IMAGE_TOKEN + "\n" + userText + " ASSISTANT:";
    }

    /** Token ids of {@code text} (BOS added), each {@code <image>} expanded to one token per image feature. */
    public int[] encode(String text) {
        return tokenizer.encode(text.replace(IMAGE_TOKEN, IMAGE_TOKEN.repeat(featuresPerImage))).ids();
    }

    /** {@code pixel_values [I, 3, H, W]} of image files, in order. */
    public Tensor pixelValues(List<Path> images) throws IOException {
        return imageProcessor.pixelValues(images);
    }

    /** Text of generated ids, special tokens left out (transformers' {@code decode(skip_special_tokens=True)}). */
    public String decode(int[] ids) {
        return tokenizer.decode(ids, true);
    }
}
