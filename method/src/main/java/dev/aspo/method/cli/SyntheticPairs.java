package dev.aspo.method.cli;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.models.llava.LlavaConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Preference pairs of random token ids and a synthetic image each, shaped as LLaVA training data:
 *
 * <pre>
 *   prompt    BOS, the first half of the prompt's text tokens, the image token once per image
 *             feature, the rest of the text tokens
 *   chosen    K sentences of sentenceTokens +- 2 random tokens, then EOS (with the last sentence)
 *   rejected  the same prompt, another K sentences
 *   image     [3, H, W] pixel values as a CLIP processor leaves them (about -1.8 .. 2.1): smooth
 *             stripes plus noise, different per pair
 *   S_i       one image-sentence similarity per chosen sentence, in [0.15, 0.35] (ASPO's alpha term)
 * </pre>
 *
 * Token ids are drawn from {@code [3, image token)} (never the image, pad, BOS or EOS id), all from
 * one {@link Random}; everything is deterministic in the seed.
 */
final class SyntheticPairs {
    /** Per record k = 2 * pair + side (0 chosen, 1 rejected), as the reference cache keys them. */
    final List<Sequence> sequences;
    /** Per pair its chosen sentences' similarities. */
    final List<double[]> similarities;
    /** Each sequence's image, {@code [3 * H * W]} (a pair's two sides share one array). */
    final Map<Sequence, float[]> pixels = new IdentityHashMap<>();
    /** The image's {@code [channels, height, width]}. */
    final int[] chw;

    SyntheticPairs(LlavaConfig config, BenchShape shape, int pairs, long seed) {
        Random rng = new Random(seed);
        int imageToken = config.imageTokenIndex, features = config.featuresPerImage();
        int size = config.visionConfig.imageSize(), channels = config.visionConfig.numChannels();
        int bos = config.textConfig.bosTokenId, eos = config.textConfig.eosTokenIds()[0];
        chw = new int[] {channels, size, size};
        List<Sequence> seqs = new ArrayList<>();
        List<double[]> sims = new ArrayList<>();
        for (int p = 0; p < pairs; p++) {
            int[] prompt = new int[shape.promptTextTokens + features];
            int before = shape.promptTextTokens / 2, at = 0;
            prompt[at++] = bos;
            for (int i = 1; i < before; i++) prompt[at++] = token(rng, imageToken);
            for (int i = 0; i < features; i++) prompt[at++] = imageToken;
            while (at < prompt.length) prompt[at++] = token(rng, imageToken);
            float[] image = image(rng, channels, size);
            for (int side = 0; side < 2; side++) {
                Sequence s = response(rng, prompt, shape, imageToken, eos);
                seqs.add(s);
                pixels.put(s, image);
            }
            double[] sim = new double[shape.sentences];
            for (int i = 0; i < sim.length; i++) sim[i] = 0.15 + 0.2 * rng.nextDouble();
            sims.add(sim);
        }
        sequences = Collections.unmodifiableList(seqs);
        similarities = Collections.unmodifiableList(sims);
    }

    /**
     * Pairs {@code [from, to)} as one training batch: their chosen rows, then their rejected rows (as
     * the trainers batch them), right-padded to {@code padTo} positions at least.
     */
    Batch batch(int from, int to, int padId, int padTo) {
        List<Sequence> rows = new ArrayList<>();
        for (int side = 0; side < 2; side++) for (int p = from; p < to; p++) rows.add(sequences.get(2 * p + side));
        return new Batch(rows, padId, null, padTo);
    }

    /** The reference cache's key of each row of {@link #batch}{@code (from, to, ...)}. */
    int[] batchKeys(int from, int to) {
        int n = to - from;
        int[] keys = new int[2 * n];
        for (int p = 0; p < n; p++) {
            keys[p] = 2 * (from + p);
            keys[n + p] = 2 * (from + p) + 1;
        }
        return keys;
    }

    /** The longest sequence. */
    int longest() {
        int t = 0;
        for (Sequence s : sequences) t = Math.max(t, s.ids().length);
        return t;
    }

    int pairs() {
        return similarities.size();
    }

    /** Total tokens of every sequence. */
    long tokens() {
        long n = 0;
        for (Sequence s : sequences) n += s.ids().length;
        return n;
    }

    private static Sequence response(Random rng, int[] prompt, BenchShape shape, int imageToken, int eos) {
        int[] lengths = new int[shape.sentences];
        int total = 1;   // EOS
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = Math.max(1, shape.sentenceTokens - 2 + rng.nextInt(5));
            total += lengths[i];
        }
        int[] ids = new int[prompt.length + total];
        int[] sentenceIds = new int[total];
        System.arraycopy(prompt, 0, ids, 0, prompt.length);
        List<String> sentences = new ArrayList<>();
        int at = prompt.length, r = 0;
        for (int i = 0; i < lengths.length; i++) {
            for (int j = 0; j < lengths[i]; j++) {
                ids[at++] = token(rng, imageToken);
                sentenceIds[r++] = i;
            }
            sentences.add("sentence " + (i + 1));
        }
        ids[at] = eos;
        sentenceIds[r] = lengths.length - 1;
        return new Sequence(ids, prompt.length, sentenceIds, List.copyOf(sentences));
    }

    /** A text token: below the image token, and not BOS (1), EOS (2) or 0. */
    private static int token(Random rng, int imageToken) {
        return 3 + rng.nextInt(imageToken - 3);
    }

    /** Stripes of a random direction and frequency per channel plus uniform noise, in CLIP's normalised range. */
    private static float[] image(Random rng, int channels, int size) {
        float[] px = new float[channels * size * size];
        for (int c = 0; c < channels; c++) {
            double fx = rng.nextDouble() * 0.2, fy = rng.nextDouble() * 0.2, phase = rng.nextDouble() * 6.28;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    double v = 0.15 + 1.2 * Math.sin(fx * x + fy * y + phase) + 0.6 * (rng.nextDouble() - 0.5);
                    px[(c * size + y) * size + x] = (float) v;
                }
            }
        }
        return px;
    }
}
