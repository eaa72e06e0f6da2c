package dev.aspo.models.llava;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.clip.ClipVisionTransformer;
import dev.aspo.models.generate.Generator;
import dev.aspo.models.generate.LeftPadded;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.ShardSize;
import dev.aspo.tensor.ops.Index;
import dev.aspo.tensor.ops.Shapes;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * LLaVA as transformers 5.17's {@code LlavaForConditionalGeneration}: a CLIP vision tower, a
 * two-layer projector and a Llama language model, parameters named as {@code save_pretrained}
 * writes them ({@code vision_tower.*}, {@code multi_modal_projector.*},
 * {@code language_model.model.*}, {@code language_model.lm_head.weight}).
 *
 * <pre>
 *   pixel_values [I,3,H,W] --vision tower--> hidden_states h0..hL, each [I, 1+P, Cv]
 *        pick vision_feature_layer (one, or several concatenated on the feature axis)
 *        "default": drop the class token -> [I, P, Cv*k]      "full": keep it -> [I, 1+P, Cv*k]
 *        --multi_modal_projector--> image features [I, F, C]
 *   input_ids [B,T] --embed_tokens--> [B,T,C]; the n-th image token (row-major) takes feature n
 *        --Llama decoder + lm_head--> logits [B,T,V]
 * </pre>
 *
 * {@code input_ids} arrive with the image token already repeated once per feature (as
 * transformers' processor expands it); their count must be {@code I * F}. The image tokens' own
 * embedding rows receive no gradient from those positions (transformers' {@code masked_scatter}
 * overwrites them). Only the tower layers up to the deepest selected one run; the rest of the
 * tower (and its {@code post_layernorm}) is a parameter without gradient, as in transformers.
 */
public final class LlavaForConditionalGeneration extends Module {
    public final LlavaConfig config;
    public final ClipVisionTransformer visionTower;
    public final LlavaProjector multiModalProjector;
    public final LlamaForCausalLM languageModel;

    /** A model whose parameters are not initialised yet: fill it with {@link #random} or {@link #load}. */
    public LlavaForConditionalGeneration(LlavaConfig config) {
        this.config = config;
        this.visionTower = child("vision_tower", new ClipVisionTransformer(config.visionConfig));
        this.multiModalProjector = child("multi_modal_projector", new LlavaProjector(config.projectorInputSize(),
                config.textConfig.hiddenSize, config.multimodalProjectorBias, config.projectorHiddenAct));
        this.languageModel = child("language_model", new LlamaForCausalLM(config.textConfig));
    }

    /**
     * A freshly initialised model, deterministic in {@code seed}: the vision tower as transformers
     * initialises a {@code CLIPVisionModel}, the language model as a {@code LlamaForCausalLM}, the
     * projector's weights {@code N(0, initializer_range^2)} (the text config's, as transformers
     * falls back to it) with zero biases.
     */
    public static LlavaForConditionalGeneration random(LlavaConfig config, long seed) {
        LlavaForConditionalGeneration m = new LlavaForConditionalGeneration(config);
        Random rng = new Random(seed);
        ClipVisionModel tower = ClipVisionModel.random(config.visionConfig, rng.nextLong());
        String towerPrefix = "vision_model.";
        for (var e : tower.namedParameters().entrySet()) {
            m.copyFrom("vision_tower." + e.getKey().substring(towerPrefix.length()), e.getValue());
        }
        m.languageModel.initWeights(rng.nextLong());
        float std = (float) config.textConfig.initializerRange;
        for (var e : m.multiModalProjector.namedParameters().entrySet()) {
            Tensor p = e.getValue();
            Tensor v = e.getKey().endsWith(".bias") ? Tensor.zeros(p.shape()) : Tensor.randn(rng, std, p.shape());
            m.copyFrom("multi_modal_projector." + e.getKey(), v);
        }
        return m;
    }

    /**
     * Activation checkpointing in the language model's decoder layers and the vision tower's
     * encoder layers ({@link LlamaForCausalLM#setGradientCheckpointing},
     * {@link ClipVisionTransformer#setGradientCheckpointing}); the gradients are the same to the last bit.
     */
    public void setGradientCheckpointing(boolean on) {
        languageModel.setGradientCheckpointing(on);
        visionTower.setGradientCheckpointing(on);
    }

    /** Image features (= image tokens) per image. */
    public int featuresPerImage() {
        return config.featuresPerImage();
    }

    // ---- forward ------------------------------------------------------------------------------

    /**
     * The vision tower's selected hidden states before the projector, {@code [I, F, Cv * k]}
     * (transformers' {@code selected_image_feature}).
     */
    public Tensor visionFeatures(Tensor pixelValues) {
        int[] layers = config.visionFeatureLayerIndices();
        int deepest = Arrays.stream(layers).max().getAsInt();
        List<Tensor> states = new ArrayList<>(deepest + 1);
        Tensor h = visionTower.embed(pixelValues);
        states.add(h);
        for (int l = 0; l < deepest; l++) {
            h = visionTower.layer(l, h);
            states.add(h);
        }
        Tensor[] picked = new Tensor[layers.length];
        for (int i = 0; i < layers.length; i++) {
            Tensor s = states.get(layers[i]);
            picked[i] = config.keepsClassToken() ? s : Shapes.slice(s, 1, 1, s.size(1));
        }
        return picked.length == 1 ? picked[0] : Shapes.concat(2, picked);
    }

    /** transformers' {@code get_image_features}: projected features {@code [I, F, C]}. */
    public Tensor imageFeatures(Tensor pixelValues) {
        return multiModalProjector.forward(visionFeatures(pixelValues));
    }

    /**
     * The language model's input embeddings {@code [B, T, C]}: token embeddings with the image
     * tokens replaced, in order, by the image features of {@code pixelValues} (null: no images,
     * every id is embedded as a token).
     */
    public Tensor inputsEmbeds(int[] ids, int batch, int seq, Tensor pixelValues) {
        if (batch <= 0 || seq <= 0 || ids.length != batch * seq) {
            throw new IllegalArgumentException("llava: " + ids.length + " token ids for batch " + batch + " x seq " + seq);
        }
        if (pixelValues == null) return languageModel.embed(ids, batch, seq);
        if (pixelValues.rank() != 4) {
            throw new IllegalArgumentException("llava: pixel_values must be [images, channels, height, width], got "
                    + Arrays.toString(pixelValues.shape()));
        }
        int images = pixelValues.size(0), perImage = featuresPerImage(), features = images * perImage;
        int tokens = 0;
        for (int id : ids) if (id == config.imageTokenIndex) tokens++;
        if (tokens != features) {
            throw new IllegalArgumentException("llava: input_ids hold " + tokens + " image tokens (id " + config.imageTokenIndex
                    + ") but pixel_values give " + features + " image features (" + images + " image" + (images == 1 ? "" : "s")
                    + " x " + perImage + "); expand the image token once per feature");
        }
        // Embed the ids (a placeholder id at image positions when the image token lies outside the
        // vocabulary; inside it the ids go as they are, so a recorded step can take new ones), then
        // gather: row i of the output is token row i, or image feature n for the n-th image token.
        // Unselected rows get no gradient, as masked_scatter gives them none.
        int c = config.textConfig.hiddenSize, n = batch * seq;
        boolean placeholder = config.imageTokenIndex >= config.textConfig.vocabSize;
        int[] tokenIds = placeholder ? ids.clone() : ids, rows = new int[n];
        for (int i = 0, f = 0; i < n; i++) {
            if (ids[i] == config.imageTokenIndex) {
                if (placeholder) tokenIds[i] = 0;
                rows[i] = n + f++;
            } else {
                rows[i] = i;
            }
        }
        Tensor text = languageModel.embed(tokenIds, batch, seq).reshape(n, c);
        Tensor image = imageFeatures(pixelValues).reshape(features, c);
        return Index.selectRows(Shapes.concat(0, text, image), rows).reshape(batch, seq, c);
    }

    /**
     * Logits {@code [B, T, V]} of {@code ids} ({@code [B*T]}, image tokens expanded) with
     * {@code attentionMask} ({@code [B*T]}, 1 keep / 0 pad, or null) and {@code pixelValues}
     * ({@code [I, 3, H, W]}, or null for text only). Positions are {@code 0..T-1} in every row, as
     * transformers' forward without {@code position_ids}.
     */
    public Tensor forward(int[] ids, int batch, int seq, float[] attentionMask, Tensor pixelValues) {
        return languageModel.forwardEmbeds(inputsEmbeds(ids, batch, seq, pixelValues), attentionMask, null, null);
    }

    /** transformers' loss with {@code labels}: {@link LlamaForCausalLM#causalLmLoss} of {@link #forward}. */
    public Tensor loss(int[] ids, int batch, int seq, float[] attentionMask, Tensor pixelValues, int[] labels) {
        return LlamaForCausalLM.causalLmLoss(forward(ids, batch, seq, attentionMask, pixelValues), labels);
    }

    // ---- generation ---------------------------------------------------------------------------

    /**
     * New tokens for each prompt, as transformers' {@code generate}: the prompts (image tokens
     * expanded; lengths may differ) are left-padded with {@code padTokenId}, their image tokens take
     * the features of {@code pixelValues} in order (null: no images), then the language model
     * decodes with a KV cache ({@link Generator}). Each row ends at one of {@code eosTokenIds}
     * (included) or after {@code maxNewTokens}.
     */
    public List<int[]> generate(List<int[]> prompts, Tensor pixelValues, Sampler sampler, int maxNewTokens,
                                int[] eosTokenIds, int padTokenId) {
        if (prompts.isEmpty()) throw new IllegalArgumentException("generate: no prompts");
        LeftPadded p = LeftPadded.of(prompts, padTokenId);
        Generator generator = new Generator(languageModel, sampler, maxNewTokens, eosTokenIds, padTokenId);
        try (var g = Autograd.noGrad()) {
            return generator.generateFromEmbeds(inputsEmbeds(p.ids(), p.batch(), p.length(), pixelValues), p.mask());
        }
    }

    // ---- checkpoints --------------------------------------------------------------------------

    /**
     * Reads {@code dir/config.json} and {@code dir/model.safetensors} (or its shards; F32, F16 or
     * BF16) in any layout {@link LlavaLayout} describes: transformers 4.x and 5.x saves, the
     * llava-hf hub checkpoints, and transformers' in-memory names.
     */
    public static LlavaForConditionalGeneration load(Path dir) throws IOException {
        return load(dir, Precision.FLOAT32);
    }

    /**
     * As {@link #load(Path)}, with the weight matrices held frozen in {@code dtype} ({@link
     * Module#matricesIn}): in bfloat16 or float16 they take half the bytes and are never float32 on
     * the heap (a checkpoint stored in that dtype is read bit for bit); norms and biases stay float32.
     */
    public static LlavaForConditionalGeneration load(Path dir, Precision dtype) throws IOException {
        LlavaConfig config = LlavaConfig.load(dir);
        ClipVisionConfig vc = config.visionConfig;
        double vision = ClipModel.visionWeightsAtLeast(vc, Math.max(0, vc.numHiddenLayers() - 1));
        boolean noText = HfJson.absent(HfJson.readObject(dir.resolve(Weights.CONFIG)), "text_config");
        Weights.requireStored(dir, dir.resolve(Weights.CONFIG), config.textConfig.weightsAtLeast() + vision, "text_config "
                + (noText ? "(absent: transformers' Llama defaults) " : "") + config.textConfig.sizes() + "; vision_config "
                + ClipModel.visionSizes(vc));
        LlavaForConditionalGeneration m;
        try (var s = Module.matricesIn(dtype)) {
            m = new LlavaForConditionalGeneration(config);
        }
        Weights.load(m, dir, LlavaLayout.mapping(dir, config.tieWordEmbeddings));
        return m;
    }

    /**
     * Our parameter name for a tensor name in any layout {@link LlavaLayout} describes (transformers
     * 4.x and 5.x saves, the llava-hf hub, transformers' in-memory names), or null for a buffer that
     * is skipped; a name in no layout comes back unchanged. Used for the module paths of adapters
     * (PEFT names them as transformers' in-memory modules).
     */
    public static String parameterName(String checkpointName) {
        return LlavaLayout.toModule(checkpointName, false);
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (F32) into {@code dir} in the layout
     * transformers 5.17's {@code save_pretrained} writes (tied weights stored once). A new
     * directory appears complete or not at all (written under a temporary name, then renamed);
     * into an existing one, the weights are replaced first (see {@link Weights#saveDirectory}).
     */
    public void save(Path dir) throws IOException {
        save(dir, ShardSize.UNLIMITED);
    }

    /** As {@link #save(Path)}, in shards of at most {@code maxShardBytes} (and an index) when the weights exceed it. */
    public void save(Path dir, long maxShardBytes) throws IOException {
        Weights.saveDirectory(this, dir, config::save, maxShardBytes);
    }
}
