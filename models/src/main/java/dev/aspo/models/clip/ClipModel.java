package dev.aspo.models.clip;

import static dev.aspo.tensor.ops.Arithmetic.add;
import static dev.aspo.tensor.ops.Arithmetic.div;
import static dev.aspo.tensor.ops.Arithmetic.mul;
import static dev.aspo.tensor.ops.Arithmetic.scale;

import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.ShardSize;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.ops.Unary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * HF's {@code CLIPModel}: the dual encoder, with HF's parameter names
 * ({@code text_model.*}, {@code vision_model.*}, {@code visual_projection.weight},
 * {@code text_projection.weight}, {@code logit_scale}).
 * <pre>
 *   pixels -> vision_model -> pooler [B_i, Cv] -> visual_projection -> image features [B_i, P] -> /|.| -> image_embeds
 *   ids    -> text_model   -> pooler [B_t, Ct] -> text_projection   -> text features  [B_t, P] -> /|.| -> text_embeds
 *   logits_per_text = exp(logit_scale) text_embeds image_embeds^T,  logits_per_image = its transpose
 *   loss = (CE(logits_per_text, arange) + CE(logits_per_image, arange)) / 2
 * </pre>
 * Two names for the two things transformers returns: {@code *Features} are
 * {@code get_image_features}/{@code get_text_features}'s pooler output (projected, not
 * normalised), {@code *Embeds} are {@code CLIPModel.forward}'s {@code image_embeds}/{@code text_embeds}
 * (projected and L2-normalised).
 */
public final class ClipModel extends Module {
    public final ClipTextTransformer textModel;
    public final ClipVisionTransformer visionModel;
    public final Linear visualProjection;
    public final Linear textProjection;
    public final Tensor logitScale;     // shape [] as in HF
    private final ClipConfig config;

    /** A model with zero parameters (load or {@link #initWeights} next). */
    public ClipModel(ClipConfig config) {
        this.config = config;
        this.textModel = child("text_model", new ClipTextTransformer(config.textConfig()));
        this.visionModel = child("vision_model", new ClipVisionTransformer(config.visionConfig()));
        this.visualProjection = child("visual_projection",
                new Linear(config.visionConfig().hiddenSize(), config.projectionDim(), false));
        this.textProjection = child("text_projection", new Linear(config.textConfig().hiddenSize(), config.projectionDim(), false));
        this.logitScale = parameter("logit_scale");
    }

    public ClipConfig config() {
        return config;
    }

    /**
     * Activation checkpointing in both towers' encoder layers
     * ({@link ClipTextTransformer#setGradientCheckpointing}, {@link ClipVisionTransformer#setGradientCheckpointing}).
     */
    public void setGradientCheckpointing(boolean on) {
        textModel.setGradientCheckpointing(on);
        visionModel.setGradientCheckpointing(on);
    }

    /** A freshly initialised model, as transformers' {@code CLIPModel(config)}, from {@code seed}. */
    public static ClipModel random(ClipConfig config, long seed) {
        ClipModel m = new ClipModel(config);
        m.initWeights(new Random(seed));
        return m;
    }

    /** Re-initialises every parameter with HF's distributions (see {@link ClipInit}). */
    public void initWeights(Random rng) {
        double f = config.initializerFactor();
        textModel.initWeights(rng, f);
        visionModel.initWeights(rng, f);
        ClipInit.normal(visualProjection.weight, rng, Math.pow(config.visionConfig().hiddenSize(), -0.5) * f);
        ClipInit.normal(textProjection.weight, rng, Math.pow(config.textConfig().hiddenSize(), -0.5) * f);
        ClipInit.constant(logitScale, (float) config.logitScaleInitValue());
    }

    /** Loads a {@code clip} directory ({@code config.json} + {@code model.safetensors}, or shards). */
    public static ClipModel load(Path dir) throws IOException {
        return load(dir, Precision.FLOAT32);
    }

    /**
     * As {@link #load(Path)}, with the weight matrices held frozen in {@code dtype} ({@link
     * Module#matricesIn}): in bfloat16 or float16 they take half the bytes and are never float32 on
     * the heap (a checkpoint stored in that dtype is read bit for bit); norms and biases stay float32.
     */
    public static ClipModel load(Path dir, Precision dtype) throws IOException {
        ClipConfig config = ClipConfig.read(ClipCheckpoint.configFile(dir));
        ClipTextConfig t = config.textConfig();
        ClipVisionConfig v = config.visionConfig();
        double text = ((double) t.vocabSize() + t.maxPositionEmbeddings()) * t.hiddenSize()
                + (double) t.numHiddenLayers() * (4.0 * t.hiddenSize() * t.hiddenSize() + 2.0 * t.hiddenSize() * t.intermediateSize());
        Weights.requireStored(dir, ClipCheckpoint.configFile(dir), text + visionWeightsAtLeast(v, v.numHiddenLayers()),
                "text_config num_hidden_layers " + t.numHiddenLayers() + ", hidden_size " + t.hiddenSize() + ", intermediate_size "
                + t.intermediateSize() + ", vocab_size " + t.vocabSize() + ", max_position_embeddings " + t.maxPositionEmbeddings()
                + "; vision_config " + visionSizes(v));
        ClipModel m;
        try (var s = Module.matricesIn(dtype)) {
            m = new ClipModel(config);
        }
        Weights.load(m, dir, n -> ClipCheckpoint.isBuffer(n) ? null : n);
        return m;
    }

    /**
     * A lower bound of the weights a vision tower of {@code layers} layers stores: the position
     * table ({@code (image_size / patch_size)^2 + 1} rows) and each layer's attention and MLP.
     */
    public static double visionWeightsAtLeast(ClipVisionConfig v, int layers) {
        double grid = (double) (v.imageSize() / v.patchSize());
        return (grid * grid + 1) * v.hiddenSize()
                + (double) layers * (4.0 * v.hiddenSize() * v.hiddenSize() + 2.0 * v.hiddenSize() * v.intermediateSize());
    }

    /** The vision size keys of {@link #visionWeightsAtLeast}, for messages. */
    public static String visionSizes(ClipVisionConfig v) {
        return "num_hidden_layers " + v.numHiddenLayers() + ", hidden_size " + v.hiddenSize() + ", intermediate_size "
                + v.intermediateSize() + ", image_size " + v.imageSize() + ", patch_size " + v.patchSize();
    }

    /** Writes {@code config.json} and {@code model.safetensors} (F32) that transformers loads. */
    public void save(Path dir) throws IOException {
        save(dir, ShardSize.UNLIMITED);
    }

    /** As {@link #save(Path)}, in shards of at most {@code maxShardBytes} (and an index) when the weights exceed it. */
    public void save(Path dir, long maxShardBytes) throws IOException {
        ClipCheckpoint.save(dir, config.toJson(), "CLIPModel", this, maxShardBytes);
    }

    // ---- the two towers ----------------------------------------------------------------------

    /** {@code get_image_features}: the projected pooler output {@code [B, P]}, not normalised. */
    public Tensor imageFeatures(Tensor pixelValues) {
        return visualProjection.forward(visionModel.pooled(pixelValues));
    }

    /** {@code get_text_features}: the projected pooler output {@code [B, P]}, not normalised. */
    public Tensor textFeatures(int[] inputIds, int batch, int seq, int[] attentionMask) {
        return textProjection.forward(textModel.forward(inputIds, batch, seq, attentionMask).poolerOutput());
    }

    /** {@code CLIPModel.forward(...).image_embeds}: projected and L2-normalised, {@code [B, P]}. */
    public Tensor imageEmbeds(Tensor pixelValues) {
        return normalize(imageFeatures(pixelValues));
    }

    /** {@code CLIPModel.forward(...).text_embeds}: projected and L2-normalised, {@code [B, P]}. */
    public Tensor textEmbeds(int[] inputIds, int batch, int seq, int[] attentionMask) {
        return normalize(textFeatures(inputIds, batch, seq, attentionMask));
    }

    /** {@code exp(logit_scale) * textEmbeds imageEmbeds^T}: {@code logits_per_text [B_t, B_i]}. */
    public Tensor logitsPerText(Tensor textEmbeds, Tensor imageEmbeds) {
        return mul(MatMul.matmul(textEmbeds, imageEmbeds, false, true), Unary.exp(logitScale.reshape(1)));
    }

    /** {@code logits_per_image [B_i, B_t]} from normalised embeddings. */
    public Tensor logitsPerImage(Tensor imageEmbeds, Tensor textEmbeds) {
        return Shapes.transpose(logitsPerText(textEmbeds, imageEmbeds), 0, 1);
    }

    /**
     * The full forward pass, as {@code CLIPModel(input_ids, pixel_values, attention_mask,
     * return_loss)}. With {@code returnLoss} the two batches must have the same size (pair i of
     * each is the positive).
     */
    public ClipOutput forward(int[] inputIds, int batch, int seq, int[] attentionMask, Tensor pixelValues,
                              boolean returnLoss) {
        ClipVisionOutput vision = visionModel.forward(pixelValues);
        ClipTextOutput text = textModel.forward(inputIds, batch, seq, attentionMask);
        Tensor imageEmbeds = normalize(visualProjection.forward(vision.poolerOutput()));
        Tensor textEmbeds = normalize(textProjection.forward(text.poolerOutput()));
        Tensor perText = logitsPerText(textEmbeds, imageEmbeds);
        Tensor perImage = Shapes.transpose(perText, 0, 1);
        Tensor loss = returnLoss ? contrastiveLoss(perText) : null;
        return new ClipOutput(loss, perImage, perText, textEmbeds, imageEmbeds, text, vision);
    }

    /**
     * HF's {@code clip_loss}/{@code image_text_contrastive_loss}: InfoNCE in both directions,
     * {@code (CE(S, arange) + CE(S^T, arange)) / 2} for square similarities {@code S}.
     */
    public static Tensor contrastiveLoss(Tensor logitsPerText) {
        if (logitsPerText.rank() != 2 || logitsPerText.size(0) != logitsPerText.size(1)) {
            throw new IllegalArgumentException("CLIP contrastive loss needs as many texts as images (square logits), got "
                    + java.util.Arrays.toString(logitsPerText.shape()));
        }
        int n = logitsPerText.size(0);
        int[] diagonal = new int[n];
        for (int i = 0; i < n; i++) diagonal[i] = i;
        Tensor caption = CrossEntropy.mean(logitsPerText, diagonal);
        Tensor image = CrossEntropy.mean(Shapes.transpose(logitsPerText, 0, 1), diagonal);
        return scale(add(caption, image), 0.5f);
    }

    /** {@code x / ||x||_2} along the last axis (HF's {@code _get_vector_norm}: no epsilon). */
    public static Tensor normalize(Tensor x) {
        return div(x, Unary.sqrt(Reductions.sum(Unary.square(x), -1, true)));
    }
}
