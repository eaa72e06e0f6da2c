package dev.aspo.method.cli;

import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llava.LlavaConfig;
import java.util.Locale;

/**
 * The model shapes {@code aspo bench aspo-lora} makes, with the lengths of the preference pairs it
 * trains on:
 *
 * <pre>
 *   llava-1.5-7b  llava-hf/llava-1.5-7b-hf's config.json: CLIP ViT-L/14 at 336 px (24 layers, hidden
 *                 1024, 16 heads, MLP 4096, quick_gelu, 576 patches), feature layer -2, projector
 *                 1024 -&gt; 4096 -&gt; 4096 (gelu), Vicuna-7B (32 layers, hidden 4096, 32 heads, FFN 11008,
 *                 vocabulary 32064, rms_norm_eps 1e-5, untied lm_head); image token 32000, pad 32001.
 *                 A sequence: 48 text tokens of prompt (LLaVA-1.5's system prompt, "USER:", a question,
 *                 "ASSISTANT:"), 576 image tokens, 4 sentences of about 18 tokens and EOS: ~700 tokens
 *   tiny          the same architecture a few units wide, for tests
 * </pre>
 *
 * The numbers of decoder and vision-tower layers can be overridden (the widths stay): a 7B-wide
 * model of 2 or 4 layers tells what each layer costs.
 */
enum BenchShape {
    LLAVA_1_5_7B("llava-1.5-7b", 48, 4, 18),
    TINY("tiny", 6, 3, 4);

    /** The name on the command line. */
    final String key;
    /** Prompt tokens besides the image's (BOS included). */
    final int promptTextTokens;
    /** Sentences in each response, and their mean length in tokens. */
    final int sentences, sentenceTokens;

    BenchShape(String key, int promptTextTokens, int sentences, int sentenceTokens) {
        this.key = key;
        this.promptTextTokens = promptTextTokens;
        this.sentences = sentences;
        this.sentenceTokens = sentenceTokens;
    }

    /** The shape named {@code key}; an unknown name is an error listing the known ones. */
    static BenchShape of(String key) {
        StringBuilder known = new StringBuilder();
        for (BenchShape s : values()) {
            if (s.key.equals(key.toLowerCase(Locale.ROOT))) return s;
            known.append(known.length() == 0 ? "" : ", ").append(s.key);
        }
        throw new IllegalArgumentException("--shape: unknown shape '" + key + "' (known: " + known + ")");
    }

    /**
     * The model's config with {@code decoderLayers} and {@code visionLayers} layers (null: the
     * shape's own).
     */
    LlavaConfig config(Integer decoderLayers, Integer visionLayers) {
        ClipVisionConfig vision;
        LlamaConfig.Builder text;
        int imageToken;
        if (this == LLAVA_1_5_7B) {
            vision = ClipVisionConfig.of(1024, 4096, or(visionLayers, 24), 16, 336, 14, ClipActivation.QUICK_GELU);
            text = LlamaConfig.builder().vocabSize(32064).hiddenSize(4096).intermediateSize(11008).numHiddenLayers(or(decoderLayers, 32))
                    .numAttentionHeads(32).numKeyValueHeads(32).maxPositionEmbeddings(4096).rmsNormEps(1e-5).padTokenId(32001);
            imageToken = 32000;
        } else {
            vision = ClipVisionConfig.of(16, 32, or(visionLayers, 2), 2, 28, 14, ClipActivation.QUICK_GELU);
            text = LlamaConfig.builder().vocabSize(96).hiddenSize(32).intermediateSize(64).numHiddenLayers(or(decoderLayers, 2))
                    .numAttentionHeads(4).numKeyValueHeads(4).maxPositionEmbeddings(256).rmsNormEps(1e-5).padTokenId(91);
            imageToken = 90;
        }
        return LlavaConfig.builder(vision, text.bosTokenId(1).eosTokenIds(2).build()).imageTokenIndex(imageToken)
                .imageSeqLength(vision.numPatches()).visionFeatureLayer(-2).build();
    }

    private static int or(Integer v, int dflt) {
        if (v == null) return dflt;
        if (v < 1) throw new IllegalArgumentException("layer counts must be at least 1, got " + v);
        return v;
    }
}
