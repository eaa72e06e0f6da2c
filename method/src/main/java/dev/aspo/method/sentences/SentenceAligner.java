package dev.aspo.method.sentences;

import dev.aspo.models.tokenizer.Encoding;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps sentence spans to completion tokens through the tokenizer's code-point offsets, so that
 * the sentences partition the tokens (every token in exactly one sentence, each sentence a
 * contiguous run of at least one token).
 *
 * <pre>
 *   text    "It is red. A cube."         spans  [0,11) [11,18)
 *   tokens  It | _is | _red | . | _A | _cube | . | EOS
 *   offsets 0,2  2,5   5,9   9,10 11,12 ...        (EOS: 0,0 or n,n)
 *   ids     0    0     0     0    1    1       1   1
 * </pre>
 *
 * Rules:
 * <ol>
 *   <li>A token with a non-empty offset range belongs to the sentence that contains its first
 *       code point (a token that straddles a boundary, such as ".\n" + the next word, goes where
 *       it starts). Byte-level pieces of one character share that character's offsets and its
 *       sentence. Offsets past the text's end count as its last code point.</li>
 *   <li>A token with an empty range (special tokens: BOS, EOS, image placeholders) belongs to the
 *       sentence of the token before it; at the very beginning, to that of the first token with a
 *       range (so EOS goes to the last sentence, as docs/METHOD.md asks).</li>
 *   <li>Sentence ids never decrease: a token whose offsets go backwards stays in the current
 *       sentence.</li>
 *   <li>A sentence that receives no token (its text lies inside a token that started earlier)
 *       merges into the sentence before it, or into the first sentence when none is before it;
 *       the merged spans still partition the text.</li>
 *   <li>Tokens but no text (an empty response with EOS): one sentence, the empty span. No
 *       tokens: no sentences.</li>
 * </ol>
 */
public final class SentenceAligner {
    private SentenceAligner() {}

    /** Splits {@code text} with {@link SentenceSplitter} and aligns it to {@code encoding}'s tokens (offsets into {@code text}). */
    public static SentenceAlignment align(String text, Encoding encoding) {
        int n = encoding.size();
        int[] starts = new int[n], ends = new int[n];
        for (int t = 0; t < n; t++) {
            starts[t] = encoding.start(t);
            ends[t] = encoding.end(t);
        }
        return align(text, starts, ends);
    }

    /** Splits {@code text} and aligns it to tokens with the given code-point offsets into {@code text}. */
    public static SentenceAlignment align(String text, int[] tokenStarts, int[] tokenEnds) {
        return align(SentenceSplitter.split(text), text.codePointCount(0, text.length()), tokenStarts, tokenEnds);
    }

    /**
     * Aligns {@code spans} (a partition of a text of {@code textLength} code points) to tokens with
     * the given offsets.
     */
    public static SentenceAlignment align(List<Span> spans, int textLength, int[] tokenStarts, int[] tokenEnds) {
        checkPartition(spans, textLength);
        int n = tokenStarts.length;
        if (tokenEnds.length != n) {
            throw new IllegalArgumentException("align: " + n + " token starts but " + tokenEnds.length + " token ends");
        }
        for (int t = 0; t < n; t++) {
            if (tokenStarts[t] < 0 || tokenEnds[t] < tokenStarts[t]) {
                throw new IllegalArgumentException("align: token " + t + " has offsets [" + tokenStarts[t] + ", "
                        + tokenEnds[t] + ")");
            }
        }
        if (n == 0) return new SentenceAlignment(List.of(), new int[0]);
        if (spans.isEmpty()) return new SentenceAlignment(List.of(new Span(0, textLength)), new int[n]);

        // 1. the sentence each token starts in (-1: empty offsets, decided by its neighbours)
        int[] raw = new int[n];
        int first = -1;
        for (int t = 0; t < n; t++) {
            raw[t] = tokenStarts[t] < tokenEnds[t] ? spanOf(spans, Math.min(tokenStarts[t], textLength - 1)) : -1;
            if (first < 0 && raw[t] >= 0) first = raw[t];
        }
        // 2. empty-offset tokens follow the previous token; ids never decrease
        int[] ids = new int[n];
        int current = Math.max(first, 0);
        for (int t = 0; t < n; t++) {
            if (raw[t] > current) current = raw[t];
            ids[t] = current;
        }
        // 3. drop sentences without tokens: each merges into the kept sentence before it (or the first kept one)
        boolean[] used = new boolean[spans.size()];
        for (int id : ids) used[id] = true;
        int[] remap = new int[spans.size()];
        List<Integer> kept = new ArrayList<>();
        for (int s = 0; s < spans.size(); s++) {
            if (used[s]) kept.add(s);
            remap[s] = Math.max(kept.size() - 1, 0);
        }
        List<Span> merged = new ArrayList<>(kept.size());
        for (int k = 0; k < kept.size(); k++) {
            int from = k == 0 ? 0 : spans.get(kept.get(k)).start();
            int to = k + 1 < kept.size() ? spans.get(kept.get(k + 1)).start() : textLength;
            merged.add(new Span(from, to));
        }
        for (int t = 0; t < n; t++) ids[t] = remap[ids[t]];
        return new SentenceAlignment(merged, ids);
    }

    /** Index of the span containing code point {@code p} (binary search over the partition). */
    private static int spanOf(List<Span> spans, int p) {
        int lo = 0, hi = spans.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (spans.get(mid).start() <= p) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    private static void checkPartition(List<Span> spans, int textLength) {
        int at = 0;
        for (int s = 0; s < spans.size(); s++) {
            Span span = spans.get(s);
            if (span.start() != at || span.length() == 0) {
                throw new IllegalArgumentException("align: sentence spans must be non-empty and contiguous from 0; span "
                        + s + " is " + span + " after position " + at);
            }
            at = span.end();
        }
        if (at != textLength && !(spans.isEmpty() && textLength == 0)) {
            throw new IllegalArgumentException("align: sentence spans end at " + at + " but the text has " + textLength
                    + " code points");
        }
    }
}
