package dev.aspo.models.generate;

import java.util.Arrays;
import java.util.List;

/**
 * Prompts of different lengths as one left-padded batch, as transformers' {@code generate} lays
 * them out: row {@code r} ends at column {@code length - 1}, and {@code mask} is 1 on its tokens
 * and 0 on the padding in front of them.
 */
public record LeftPadded(int[] ids, float[] mask, int batch, int length) {

    /** Pads {@code prompts} (none empty) on the left with {@code padTokenId}. */
    public static LeftPadded of(List<int[]> prompts, int padTokenId) {
        int batch = prompts.size(), len = 0;
        for (int r = 0; r < batch; r++) {
            if (prompts.get(r).length == 0) throw new IllegalArgumentException("generate: prompt " + r + " is empty");
            len = Math.max(len, prompts.get(r).length);
        }
        int[] ids = new int[batch * len];
        float[] mask = new float[batch * len];
        Arrays.fill(ids, padTokenId);
        for (int r = 0; r < batch; r++) {
            int[] p = prompts.get(r);
            int pad = len - p.length;
            System.arraycopy(p, 0, ids, r * len + pad, p.length);
            Arrays.fill(mask, r * len + pad, (r + 1) * len, 1f);
        }
        return new LeftPadded(ids, mask, batch, len);
    }
}
