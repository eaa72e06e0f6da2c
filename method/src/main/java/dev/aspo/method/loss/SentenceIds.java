package dev.aspo.method.loss;

/**
 * Per-token sentence ids as the losses take them: {@code 0..K-1} in token order, each sentence one
 * contiguous run of at least one token, and {@code -1} for a token outside the response (prompt,
 * padding) anywhere.
 */
public final class SentenceIds {
    private SentenceIds() {}

    /**
     * The number of sentences K, after checking that the ids other than -1 start at 0 and never
     * decrease, by steps of 0 or 1; {@code where} starts the error message.
     */
    public static int count(int[] ids, String where) {
        int last = -1;
        for (int t = 0; t < ids.length; t++) {
            int id = ids[t];
            if (id == -1) continue;
            if (id < -1 || id < last || id > last + 1) {
                throw new IllegalArgumentException(where + ": sentence id " + id + " at token " + t + " after "
                        + (last < 0 ? "no sentence" : "sentence " + last)
                        + " (ids must be 0-based and contiguous: each the same as the previous or one more; -1 skips a token)");
            }
            last = id;
        }
        return last + 1;
    }
}
