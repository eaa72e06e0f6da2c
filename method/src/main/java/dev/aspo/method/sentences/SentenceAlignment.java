package dev.aspo.method.sentences;

import java.util.List;

/**
 * Sentences of a response and the sentence of every completion token.
 *
 * @param spans       the sentences as code-point spans of the response text; they partition it
 *                    (after merging sentences that received no token, see {@link SentenceAligner})
 * @param sentenceIds per completion token, its sentence in {@code 0 .. count()-1}: starts at 0,
 *                    never decreases, steps by at most 1, and every sentence has a token
 */
public record SentenceAlignment(List<Span> spans, int[] sentenceIds) {
    public SentenceAlignment {
        spans = List.copyOf(spans);
        sentenceIds = sentenceIds.clone();
    }

    /** The number of sentences K. */
    public int count() {
        return spans.size();
    }

    /** Tokens per sentence ({@code n_i}). */
    public int[] tokenCounts() {
        int[] counts = new int[spans.size()];
        for (int id : sentenceIds) counts[id]++;
        return counts;
    }

    @Override
    public int[] sentenceIds() {
        return sentenceIds.clone();
    }
}
