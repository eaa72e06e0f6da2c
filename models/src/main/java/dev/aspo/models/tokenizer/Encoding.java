package dev.aspo.models.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The result of {@link Tokenizer#encode}: token ids, token strings, and for every token the
 * range [start, end) of the input it came from, in Unicode code points (Python string indices),
 * exactly as HF tokenizers' {@code encoding.offsets}. Tokens added by the post-processor (e.g.
 * BOS) have offsets (0, 0) and a 1 in the special-tokens mask.
 */
public final class Encoding {
    private final int[] ids;
    private final String[] tokens;
    private final int[] starts;
    private final int[] ends;
    private final int[] specialTokensMask;

    Encoding(List<Token> list) {
        int n = list.size();
        ids = new int[n];
        tokens = new String[n];
        starts = new int[n];
        ends = new int[n];
        specialTokensMask = new int[n];
        for (int i = 0; i < n; i++) {
            Token t = list.get(i);
            ids[i] = t.id;
            tokens[i] = t.value;
            starts[i] = t.start;
            ends[i] = t.end;
            specialTokensMask[i] = t.special ? 1 : 0;
        }
    }

    public int size() {
        return ids.length;
    }

    public int[] ids() {
        return ids.clone();
    }

    public int id(int i) {
        return ids[i];
    }

    /** Token strings (for byte-level vocabularies these are the GPT-2 byte characters, e.g. "Ġworld"). */
    public List<String> tokens() {
        return List.of(tokens);
    }

    /** Start offset of token {@code i}, in code points of the input. */
    public int start(int i) {
        return starts[i];
    }

    /** End offset (exclusive) of token {@code i}, in code points of the input. */
    public int end(int i) {
        return ends[i];
    }

    /** Offsets as {@code [n][2]} pairs {start, end}. */
    public int[][] offsets() {
        int[][] o = new int[ids.length][];
        for (int i = 0; i < ids.length; i++) o[i] = new int[]{starts[i], ends[i]};
        return o;
    }

    /** 1 for tokens added by the post-processor (template specials), else 0. */
    public int[] specialTokensMask() {
        return specialTokensMask.clone();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Encoding[");
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(ids[i]).append(' ').append(tokens[i]).append(" [").append(starts[i]).append(',').append(ends[i]).append(')');
        }
        return sb.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Encoding e && Arrays.equals(ids, e.ids) && Arrays.equals(tokens, e.tokens)
                && Arrays.equals(starts, e.starts) && Arrays.equals(ends, e.ends)
                && Arrays.equals(specialTokensMask, e.specialTokensMask);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids);
    }
}
