package dev.aspo.method.data;

import dev.aspo.method.sentences.SentenceAligner;
import dev.aspo.method.sentences.SentenceAlignment;
import dev.aspo.method.sentences.Span;
import dev.aspo.models.tokenizer.Encoding;
import dev.aspo.models.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns (prompt, response) into a {@link Sequence}: the prompt encoded with the tokenizer's
 * special tokens (e.g. BOS), the response without them, then EOS. Sentence ids come from the
 * response's own offsets ({@link SentenceAligner}), so the prompt never shifts them; EOS (empty
 * offsets) joins the last sentence. Offsets are trimmed of leading whitespace first, so a
 * byte-level token such as {@code "ĠIt"} belongs to the sentence its word starts, not to the one
 * whose trailing space it carries.
 */
public final class SequenceEncoder {
    private final Tokenizer tokenizer;
    private final int eosId;
    private final int maxLength;

    /** {@code maxLength}: the most tokens a sequence may have (a longer one is an error naming the record). */
    public SequenceEncoder(Tokenizer tokenizer, int eosId, int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("max_length must be at least 2, got " + maxLength);
        this.tokenizer = tokenizer;
        this.eosId = eosId;
        this.maxLength = maxLength;
    }

    /** The sequence of {@code prompt + response + EOS}; {@code where} ({@code file:line}) starts an error message. */
    public Sequence encode(String prompt, String response, String where) {
        int[] p = prompt.isEmpty() ? tokenizer.encode("", true).ids() : tokenizer.encode(prompt, true).ids();
        if (p.length == 0) {
            throw new DatasetException(where + ": the prompt encodes to no tokens (with a tokenizer that adds no BOS the"
                    + " prompt must not be empty: something has to predict the first response token)");
        }
        Encoding r = tokenizer.encode(response, false);
        int n = r.size();
        if (n == 0) throw new DatasetException(where + ": the response has no tokens");
        int total = p.length + n + 1;
        if (total > maxLength) {
            throw new DatasetException(where + ": " + total + " tokens (prompt " + p.length + ", response " + (n + 1)
                    + " with EOS) exceed max_length " + maxLength);
        }
        int[] ids = new int[total];
        System.arraycopy(p, 0, ids, 0, p.length);
        int[] starts = new int[n + 1], ends = new int[n + 1];
        int[] cps = response.codePoints().toArray();
        for (int t = 0; t < n; t++) {
            ids[p.length + t] = r.id(t);
            starts[t] = r.start(t);
            ends[t] = r.end(t);
            // trim leading whitespace off the offsets (HF ByteLevel's trim_offsets): "ĠIt" of "cube. It"
            // starts at "I", in the new sentence, not at the space that ends the previous one
            int s = starts[t];
            while (s < ends[t] && s < cps.length && Character.isWhitespace(cps[s])) s++;
            if (s < ends[t]) starts[t] = s;
        }
        ids[total - 1] = eosId;
        SentenceAlignment a = SentenceAligner.align(response, starts, ends);
        List<String> texts = new ArrayList<>();
        for (Span s : a.spans()) texts.add(new String(cps, s.start(), s.end() - s.start()));
        return new Sequence(ids, p.length, a.sentenceIds(), texts);
    }
}
