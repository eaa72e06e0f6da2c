package dev.aspo.models.generate;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Batched autoregressive decoding with a {@link KvCache}, as transformers' {@code generate}
 * for a decoder-only model:
 *
 * <pre>
 *   prompts, left-padded to one length P (mask 0 on pads)
 *     positions = cumsum(mask) - 1 per row (0 on pads)            -- generate's position_ids
 *   prefill:  forward(all P tokens) -> cache, logits of the last position
 *   step:     next = sampler(logits) per row; a row that emitted EOS is done (later tokens ignored)
 *             forward(next, position = previous + 1, mask 1) with the cache
 *   until every row is done or maxNewTokens tokens were produced
 * </pre>
 *
 * Runs under {@link Autograd#noGrad()}. Only the last position of each forward goes through the
 * output projection. The result per row is the new tokens, up to and including its EOS.
 */
public final class Generator {
    private final CausalLm model;
    private final Sampler sampler;
    private final int maxNewTokens;
    private final int[] eosTokenIds;
    private final int padTokenId;

    /**
     * {@code eosTokenIds} end a sequence (empty: only {@code maxNewTokens} does); {@code padTokenId}
     * fills the left padding of shorter prompts (any id works: padded positions are masked).
     */
    public Generator(CausalLm model, Sampler sampler, int maxNewTokens, int[] eosTokenIds, int padTokenId) {
        if (maxNewTokens < 0) throw new IllegalArgumentException("generate: maxNewTokens must be >= 0, got " + maxNewTokens);
        if (padTokenId < 0 || padTokenId >= model.vocabSize()) {
            throw new IllegalArgumentException("generate: padTokenId " + padTokenId + " outside the vocabulary [0, "
                    + model.vocabSize() + ")");
        }
        this.model = model;
        this.sampler = sampler;
        this.maxNewTokens = maxNewTokens;
        this.eosTokenIds = eosTokenIds == null ? new int[0] : eosTokenIds.clone();
        this.padTokenId = padTokenId;
    }

    /** New tokens for each prompt (token ids; prompts may differ in length, none may be empty). */
    public List<int[]> generate(List<int[]> prompts) {
        if (prompts.isEmpty()) return List.of();
        LeftPadded p = LeftPadded.of(prompts, padTokenId);
        try (var g = Autograd.noGrad()) {
            return generateFromEmbeds(model.embed(p.ids(), p.batch(), p.length()), p.mask());
        }
    }

    /**
     * New tokens for each row of prompt embeddings {@code [B, P, C]} with {@code mask [B*P]}
     * (1 keep, 0 pad; padding must be on the left; null for none): the entry point for a model
     * that builds its own prompt embeddings (image features spliced in).
     */
    public List<int[]> generateFromEmbeds(Tensor embeds, float[] mask) {
        int batch = embeds.size(0), len = embeds.size(1);
        if (mask != null && mask.length != batch * len) {
            throw new IllegalArgumentException("generate: mask has " + mask.length + " entries for embeds "
                    + Arrays.toString(embeds.shape()));
        }
        int[] positions = new int[batch * len];
        int[] next = new int[batch];      // the position of each row's next token
        for (int r = 0; r < batch; r++) {
            int first = 0;
            while (mask != null && first < len && mask[r * len + first] == 0f) first++;
            if (first == len) throw new IllegalArgumentException("generate: row " + r + " of the prompt is all padding");
            for (int t = first; t < len; t++) {
                if (mask != null && mask[r * len + t] == 0f) {
                    throw new IllegalArgumentException("generate: row " + r + " has padding at " + t + ", after its first token "
                            + "at " + first + "; generation needs left padding");
                }
                positions[r * len + t] = t - first;
            }
            next[r] = len - first;
        }

        int longest = 0;
        for (int n : next) longest = Math.max(longest, n);
        if ((long) longest + maxNewTokens > model.maxPositions()) {
            throw new IllegalArgumentException("generate: the prompt takes " + longest + " positions and " + maxNewTokens
                    + " new tokens need as many more, but the model has max_position_embeddings " + model.maxPositions()
                    + " (ask for at most " + Math.max(0, model.maxPositions() - longest) + " new tokens)");
        }
        List<IntArrayList> out = new ArrayList<>();
        for (int r = 0; r < batch; r++) out.add(new IntArrayList());
        if (maxNewTokens == 0) return toArrays(out);
        boolean[] done = new boolean[batch];
        int vocab = model.vocabSize();
        try (var g = Autograd.noGrad()) {
            KvCache cache = new KvCache(model.numLayers());
            Tensor hidden = model.forwardHidden(embeds, mask, positions, cache);
            float[] logits = lastLogits(hidden);
            for (int step = 0; ; step++) {
                int[] tokens = new int[batch];
                int active = 0;
                for (int r = 0; r < batch; r++) {
                    if (done[r]) {
                        tokens[r] = padTokenId;          // keeps the batch shape; its output is ignored
                        continue;
                    }
                    checkFinite(logits, r * vocab, vocab, step, r);
                    int tok = sampler.next(logits, r * vocab, vocab);
                    tokens[r] = tok;
                    out.get(r).add(tok);
                    if (isEos(tok)) done[r] = true;
                    else active++;
                }
                if (active == 0 || step + 1 == maxNewTokens) break;
                int[] pos = next.clone();
                for (int r = 0; r < batch; r++) next[r]++;
                hidden = model.forwardHidden(model.embed(tokens, batch, 1), null, pos, cache);
                logits = lastLogits(hidden);
            }
        }
        return toArrays(out);
    }

    /** Logits of the last position of each row, {@code [B*V]} on the host. */
    private float[] lastLogits(Tensor hidden) {
        int t = hidden.size(1);
        Tensor last = t == 1 ? hidden : Shapes.slice(hidden, 1, t - 1, t);
        return model.logits(last).toFloatArray();
    }

    private boolean isEos(int token) {
        for (int e : eosTokenIds) if (e == token) return true;
        return false;
    }

    private static void checkFinite(float[] logits, int offset, int vocab, int step, int row) {
        for (int i = 0; i < vocab; i++) {
            if (!Float.isFinite(logits[offset + i])) {
                throw new IllegalStateException("generate: logit " + i + " of row " + row + " at new token " + step + " is "
                        + logits[offset + i]);
            }
        }
    }

    private static List<int[]> toArrays(List<IntArrayList> rows) {
        List<int[]> out = new ArrayList<>();
        for (IntArrayList r : rows) out.add(r.toIntArray());
        return out;
    }
}
