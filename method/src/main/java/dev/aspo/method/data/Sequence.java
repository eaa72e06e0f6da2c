package dev.aspo.method.data;

/**
 * One tokenised sequence: prompt, then response, then EOS.
 *
 * <pre>
 *   ids          [BOS p p p | r r r r EOS]
 *   promptLength  4
 *   sentenceIds              0 0 1 1 1      (per response token, EOS with the last sentence)
 * </pre>
 *
 * @param ids          every token id
 * @param promptLength how many leading tokens are the prompt (never in a loss)
 * @param sentenceIds  per response token (EOS included) its sentence {@code 0..K-1}
 * @param sentences    the response's sentence texts, in order ({@code K} of them)
 */
public record Sequence(int[] ids, int promptLength, int[] sentenceIds, java.util.List<String> sentences) {

    /** Number of response tokens (EOS included). */
    public int responseLength() {
        return ids.length - promptLength;
    }
}
