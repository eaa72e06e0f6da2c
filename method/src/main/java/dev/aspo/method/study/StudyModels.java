package dev.aspo.method.study;

import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipConfig;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipTextConfig;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.tokenizer.BpeTrainer;
import dev.aspo.models.tokenizer.Tokenizer;
import java.util.List;

/**
 * The study's compact models, the same at every scale:
 * <pre>
 *   image 96x96 --patch 32--&gt; 3x3 patches, one per grid cell of the shapes world
 *   CLIP vision:  hidden 64, 2 layers, 4 heads, quick-GELU      --+-- CLIP text: hidden 64, 2 layers, 4 heads
 *                 (trained contrastively, then LLaVA's tower)      |   projections to 64, learned logit scale
 *   LLaVA: vision tower (last layer, class token dropped: 9 features) -&gt; Linear-GELU-Linear -&gt;
 *          Llama decoder: hidden 128, 2 layers, 4 heads, 2 KV heads, SwiGLU 344, RoPE
 *   tokenizer: byte-level BPE with 512 tokens trained on the world's texts;
 *              &lt;bos&gt; 0, &lt;eos&gt; 1, &lt;pad&gt; 2, &lt;image&gt; 3
 * </pre>
 * (EOS must not be id 2: CLIP's text tower reads {@code eos_token_id == 2} as the legacy argmax pooling.)
 */
public final class StudyModels {
    public static final int IMAGE_SIZE = 96, PATCH = 32, VOCAB = 512, MAX_TEXT = 64;

    private StudyModels() {}

    /** A BPE tokenizer trained on {@code corpus}. */
    public static Tokenizer tokenizer(List<String> corpus) {
        return new BpeTrainer(VOCAB, 2, List.of("<bos>", "<eos>", "<pad>", "<image>")).withBosToken("<bos>").train(corpus);
    }

    static ClipVisionConfig vision() {
        return ClipVisionConfig.of(64, 256, 2, 4, IMAGE_SIZE, PATCH, ClipActivation.QUICK_GELU);
    }

    /** A freshly initialised CLIP dual encoder for {@code tokenizer}. */
    public static ClipModel clip(Tokenizer tokenizer, long seed) {
        ClipTextConfig text = ClipTextConfig.of(tokenizer.vocabSize(), 64, 256, 2, 4, MAX_TEXT, ClipActivation.QUICK_GELU,
                tokenizer.tokenToId("<eos>"));
        return ClipModel.random(ClipConfig.of(text, vision(), 64), seed);
    }

    /** A freshly initialised LLaVA whose vision tower holds {@code clip}'s vision weights. */
    public static LlavaForConditionalGeneration llava(Tokenizer tokenizer, ClipModel clip, long seed) {
        LlamaConfig text = LlamaConfig.builder().vocabSize(tokenizer.vocabSize()).hiddenSize(128).intermediateSize(344)
                .numHiddenLayers(2).numAttentionHeads(4).numKeyValueHeads(2).maxPositionEmbeddings(256)
                .bosTokenId(tokenizer.tokenToId("<bos>")).eosTokenIds(tokenizer.tokenToId("<eos>"))
                .padTokenId(tokenizer.tokenToId("<pad>")).build();
        LlavaConfig c = LlavaConfig.builder(clip.config().visionConfig(), text).imageTokenIndex(tokenizer.tokenToId("<image>"))
                .visionFeatureLayer(-1).build();
        LlavaForConditionalGeneration m = LlavaForConditionalGeneration.random(c, seed);
        for (var e : clip.visionModel.namedParameters().entrySet()) m.visionTower.copyFrom(e.getKey(), e.getValue());
        return m;
    }
}
