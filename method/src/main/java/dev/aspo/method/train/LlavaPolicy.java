package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.DatasetException;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.llava.LlavaProcessor;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * LLaVA as a {@link PolicyModel}. The prompt gets its image tokens: {@code <image>} placeholders in
 * the prompt stay where they are (one per image), and when the prompt has none one
 * {@code <image>\n} per image is put in front; each placeholder is then repeated once per image
 * feature, as transformers' processor does. A batch's images go through the vision tower in row
 * order, the n-th image token of the batch taking the n-th image's features. Preprocessed pixels
 * are kept per file (they do not change between steps).
 */
public final class LlavaPolicy implements PolicyModel {
    private final LlavaForConditionalGeneration model;
    private final ClipImageProcessor processor;
    private final Map<Path, float[]> pixels = new HashMap<>();
    private int[] chw;

    public LlavaPolicy(LlavaForConditionalGeneration model, ClipImageProcessor processor) {
        this.model = model;
        this.processor = processor;
    }

    /** A LLaVA directory: config.json, weights and preprocessor_config.json. */
    public static LlavaPolicy load(Path dir) throws IOException {
        return new LlavaPolicy(LlavaForConditionalGeneration.load(dir), ClipImageProcessor.load(dir));
    }

    public LlavaForConditionalGeneration model() {
        return model;
    }

    /** The image preprocessing of the model's directory. */
    public ClipImageProcessor processor() {
        return processor;
    }

    @Override
    public String promptText(String prompt, int images) {
        String tag = LlavaProcessor.IMAGE_TOKEN;
        int have = 0;
        for (int i = prompt.indexOf(tag); i >= 0; i = prompt.indexOf(tag, i + tag.length())) have++;
        String p = prompt;
        if (have == 0 && images > 0) p = (tag + "\n").repeat(images) + prompt;
        else if (have != images) {
            throw new IllegalArgumentException("the prompt has " + have + " " + tag + " placeholders for " + images + " images");
        }
        return p.replace(tag, tag.repeat(model.featuresPerImage()));
    }

    @Override
    public Tensor logits(Batch batch) {
        float[] pixels = pixels(batch);
        return model.forward(batch.ids, batch.batch, batch.seq, batch.attentionMask,
                pixels == null ? null : Tensor.of(pixels, pixels.length / (chw[0] * chw[1] * chw[2]), chw[0], chw[1], chw[2]));
    }

    @Override
    public Object[] deviceInputs(Batch batch) {
        float[] pixels = pixels(batch);
        return pixels == null ? new Object[] {batch.ids, batch.attentionMask} : new Object[] {batch.ids, batch.attentionMask, pixels};
    }

    /** The batch's images, preprocessed and concatenated ({@code [I, 3, H, W]}), or null when it has none. */
    private float[] pixels(Batch batch) {
        List<Path> files = new ArrayList<>();
        if (batch.images != null) for (List<Path> row : batch.images) files.addAll(row);
        return files.isEmpty() ? null : pixelValues(files);
    }

    private float[] pixelValues(List<Path> files) {
        float[][] each = new float[files.size()][];
        for (int i = 0; i < each.length; i++) {
            Path f = files.get(i);
            each[i] = pixels.computeIfAbsent(f, k -> {
                try {
                    int[] hw = new int[2];
                    float[] px = processor.preprocess(RgbImage.read(k), hw);
                    int[] shape = {3, hw[0], hw[1]};
                    if (chw == null) chw = shape;
                    else if (!java.util.Arrays.equals(chw, shape)) {
                        throw new DatasetException(k + ": image comes out " + hw[0] + "x" + hw[1] + ", others " + chw[1] + "x" + chw[2]);
                    }
                    return px;
                } catch (IOException e) {
                    throw new DatasetException(k + ": cannot read image: " + e.getMessage());
                }
            });
        }
        int per = each[0].length;
        float[] all = new float[per * each.length];
        for (int i = 0; i < each.length; i++) System.arraycopy(each[i], 0, all, i * per, per);
        return all;
    }

    @Override
    public void setGradientCheckpointing(boolean on) {
        model.setGradientCheckpointing(on);
    }

    @Override
    public Module module() {
        return model;
    }

    @Override
    public void save(Path dir, long maxShardBytes) throws IOException {
        model.save(dir, maxShardBytes);
        processor.save(dir);
    }

    @Override
    public PolicyModel copy() {
        LlavaPolicy c = new LlavaPolicy(new LlavaForConditionalGeneration(model.config), processor);
        c.loadWeightsFrom(model);
        return c;
    }

    @Override
    public int padId() {
        Integer pad = model.config.textConfig.padTokenId;
        return pad != null ? pad : eosId();
    }

    @Override
    public int eosId() {
        return model.config.textConfig.eosTokenIds()[0];
    }
}
