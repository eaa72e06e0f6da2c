package dev.aspo.method.data;

import java.util.Arrays;
import java.util.List;

/**
 * Sequences padded on the right into one {@code [B, T]} batch, with what the losses need.
 *
 * <pre>
 *   ids      BOS p p r r EOS 0 0        mask   1 1 1 1 1 1 0 0
 *   targets  -   - r r EOS -  - -       (position t predicts ids[t+1] when that is a response token)
 *   sentence -1 -1 0 0 0  -1 -1 -1      (the sentence of that target; -1: no target)
 * </pre>
 *
 * Right padding with a key mask changes nothing for the real positions (causal attention never
 * looks right, and padded keys are masked), so results do not depend on how much padding a
 * row gets.
 */
public final class Batch {
    public final int batch, seq;
    /** Token ids {@code [B*T]}, padding filled with {@code padId}. */
    public final int[] ids;
    /** 1 for a real token, 0 for padding, {@code [B*T]}. */
    public final float[] attentionMask;
    /** Next-token targets {@code [B*T]}: a response token id, else -100. */
    public final int[] targets;
    /** Per position the sentence of its target, or -1 {@code [B*T]}. */
    public final int[] sentenceIds;
    /** The sequences, row by row. */
    public final List<Sequence> rows;
    /** Real tokens in the batch (padding excluded). */
    public final long tokens;
    /** Per row the record's image files (empty lists for text-only rows); a vision-language policy reads them. */
    public final List<List<java.nio.file.Path>> images;

    /** A text-only batch. */
    public Batch(List<Sequence> rows, int padId) {
        this(rows, padId, null);
    }

    /** A batch whose row {@code r} comes with {@code images.get(r)} (null: no images at all). */
    public Batch(List<Sequence> rows, int padId, List<List<java.nio.file.Path>> images) {
        this(rows, padId, images, 0);
    }

    /**
     * The same, padded to at least {@code padTo} positions (0: to the longest row): batches of one
     * shape, as a recorded training step needs.
     */
    public Batch(List<Sequence> rows, int padId, List<List<java.nio.file.Path>> images, int padTo) {
        if (images != null && images.size() != rows.size()) {
            throw new IllegalArgumentException("batch: " + images.size() + " image lists for " + rows.size() + " rows");
        }
        this.images = images == null ? null : List.copyOf(images);
        if (rows.isEmpty()) throw new IllegalArgumentException("batch: no sequences");
        this.rows = List.copyOf(rows);
        this.batch = rows.size();
        int t = Math.max(0, padTo);
        for (Sequence s : rows) t = Math.max(t, s.ids().length);
        this.seq = t;
        ids = new int[batch * seq];
        attentionMask = new float[batch * seq];
        targets = new int[batch * seq];
        sentenceIds = new int[batch * seq];
        Arrays.fill(ids, padId);
        Arrays.fill(targets, -100);
        Arrays.fill(sentenceIds, -1);
        long n = 0;
        for (int r = 0; r < batch; r++) {
            Sequence s = rows.get(r);
            int len = s.ids().length, base = r * seq;
            n += len;
            for (int i = 0; i < len; i++) {
                ids[base + i] = s.ids()[i];
                attentionMask[base + i] = 1f;
            }
            for (int i = s.promptLength(); i < len; i++) {
                if (i == 0) continue;   // nothing predicts the very first token
                targets[base + i - 1] = s.ids()[i];
                sentenceIds[base + i - 1] = s.sentenceIds()[i - s.promptLength()];
            }
        }
        tokens = n;
    }

    /** Row {@code r}'s sentence ids over its {@code T} positions. */
    public int[] rowSentenceIds(int r) {
        return Arrays.copyOfRange(sentenceIds, r * seq, (r + 1) * seq);
    }

    /** Row {@code r}'s sentence ids with every response position in sentence 0 (whole-response DPO). */
    public int[] rowResponseMask(int r) {
        int[] out = rowSentenceIds(r);
        for (int i = 0; i < out.length; i++) if (out[i] > 0) out[i] = 0;
        return out;
    }
}
