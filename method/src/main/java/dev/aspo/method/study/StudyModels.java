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
import dev.aspo.tensor.Tensor;
import java.util.List;
import java.util.Random;

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

    /** A freshly initialised CLIP dual encoder for {@code tokenizer}: hidden 64, 2 layers a tower. */
    public static ClipModel clip(Tokenizer tokenizer, long seed) {
        return clip(tokenizer, seed, 64, 2);
    }

    /** A freshly initialised CLIP: towers of {@code width} hidden (MLP 4x, heads of 16) and {@code layers} layers, projections to {@code width}. */
    public static ClipModel clip(Tokenizer tokenizer, long seed, int width, int layers) {
        return clip(tokenizer, seed, width, layers, 0);
    }

    /**
     * The same with the vision tower's position embeddings drawn with std {@code positionStd}
     * (0: HF's {@code initializer_range}, 0.02). Why: a patch's content embedding comes out of the
     * 32x32x3 convolution with a std near 1 here, so at HF's 0.02 a patch's place is a hundredth of
     * its token, weight decay pulls it to zero, and the tower never tells "top left" from "centre".
     */
    public static ClipModel clip(Tokenizer tokenizer, long seed, int width, int layers, double positionStd) {
        if (positionStd < 0) throw new IllegalArgumentException("position embedding std must be 0 or more, got " + positionStd);
        ClipTextConfig text = ClipTextConfig.of(tokenizer.vocabSize(), width, 4 * width, layers, width / 16, MAX_TEXT,
                ClipActivation.QUICK_GELU, tokenizer.tokenToId("<eos>"));
        ClipVisionConfig vision = ClipVisionConfig.of(width, 4 * width, layers, width / 16, IMAGE_SIZE, PATCH, ClipActivation.QUICK_GELU);
        ClipModel m = ClipModel.random(ClipConfig.of(text, vision, width), seed);
        if (positionStd > 0) {
            Tensor pos = m.visionModel.embeddings.positionEmbedding.weight;
            m.visionModel.copyFrom("embeddings.position_embedding.weight", Tensor.randn(new Random(seed * 0x2545F4914F6CDD1DL + 17), (float) positionStd, pos.shape()));
        }
        return m;
    }

    /** A freshly initialised LLaVA whose vision tower holds {@code clip}'s vision weights, reading its last layer, 2 decoder layers. */
    public static LlavaForConditionalGeneration llava(Tokenizer tokenizer, ClipModel clip, long seed) {
        return llava(tokenizer, clip, seed, -1, 2);
    }

    /** The same, reading vision layer {@code visionLayer} (-1 last, -2 the one before) into a decoder of {@code decoderLayers}. */
    public static LlavaForConditionalGeneration llava(Tokenizer tokenizer, ClipModel clip, long seed, int visionLayer, int decoderLayers) {
        return llava(tokenizer, clip, seed, visionLayer, decoderLayers, 128);
    }

    /** The same with a decoder of hidden size {@code width}: heads of 32, half as many KV heads, SwiGLU 2.6875 x width (344 at 128). */
    public static LlavaForConditionalGeneration llava(Tokenizer tokenizer, ClipModel clip, long seed, int visionLayer, int decoderLayers,
                                                      int width) {
        if (width < 64 || width % 64 != 0) throw new IllegalArgumentException("decoder width must be a multiple of 64, got " + width);
        LlamaConfig text = LlamaConfig.builder().vocabSize(tokenizer.vocabSize()).hiddenSize(width).intermediateSize(width * 43 / 16)
                .numHiddenLayers(decoderLayers).numAttentionHeads(width / 32).numKeyValueHeads(width / 64).maxPositionEmbeddings(256)
                .bosTokenId(tokenizer.tokenToId("<bos>")).eosTokenIds(tokenizer.tokenToId("<eos>"))
                .padTokenId(tokenizer.tokenToId("<pad>")).build();
        LlavaConfig c = LlavaConfig.builder(clip.config().visionConfig(), text).imageTokenIndex(tokenizer.tokenToId("<image>"))
                .visionFeatureLayer(visionLayer).build();
        LlavaForConditionalGeneration m = LlavaForConditionalGeneration.random(c, seed);
        for (var e : clip.visionModel.namedParameters().entrySet()) m.visionTower.copyFrom(e.getKey(), e.getValue());
        return m;
    }
}
