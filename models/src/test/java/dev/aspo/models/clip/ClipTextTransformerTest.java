package dev.aspo.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Pooling positions as transformers 5.17 picks them, and what the pooled vector may depend on. */
class ClipTextTransformerTest {
    @Test
    void poolPositionsFollowTransformers() {
        int[] ids = {
            0, 9, 7, 9, 1,      // eos 9 twice: the first one
            0, 3, 4, 5, 6,      // no eos: position 0 (argmax of all zeros)
            8, 2, 8, 1, 7};     // legacy rule: the first of the largest ids
        assertArrayEquals(new int[] {1, 0, 0}, ClipTextTransformer.poolPositions(ids, 3, 5, 9));
        assertArrayEquals(new int[] {1, 4, 0}, ClipTextTransformer.poolPositions(ids, 3, 5, 2));
        assertArrayEquals(new int[] {0, 2}, ClipTextTransformer.poolPositions(new int[] {5, 5, 5, 1, 2, 6}, 2, 3, 2));
        var e = assertThrows(IllegalArgumentException.class, () -> ClipTextTransformer.poolPositions(ids, 3, 5, null));
        assertTrue(e.getMessage().contains("eos_token_id is null"), e.getMessage());
    }

    @Test
    void thePooledVectorSeesNeitherLaterTokensNorMaskedPadding() {
        ClipModel m = ClipModel.random(ClipCheckpointTest.tinyConfig(), 5);      // eos 39
        int[] a = {0, 12, 39, 1, 1, 1};
        int[] mask = {1, 1, 1, 0, 0, 0};
        float[] base = m.textFeatures(a, 1, 6, mask).toFloatArray();
        // causal: tokens after the eos cannot reach it, masked or not
        float[] later = m.textFeatures(new int[] {0, 12, 39, 7, 8, 9}, 1, 6, new int[] {1, 1, 1, 1, 1, 1}).toFloatArray();
        assertArrayEquals(base, later);
        // a shorter sequence without the padding gives the same vector
        float[] shorter = m.textFeatures(new int[] {0, 12, 39}, 1, 3, null).toFloatArray();
        for (int i = 0; i < base.length; i++) assertEquals(base[i], shorter[i], 1e-6);
        // an earlier token does reach it
        float[] changed = m.textFeatures(new int[] {0, 13, 39, 1, 1, 1}, 1, 6, mask).toFloatArray();
        double d = 0;
        for (int i = 0; i < base.length; i++) d = Math.max(d, Math.abs(base[i] - changed[i]));
        assertTrue(d > 1e-4, "the pooled vector depends on earlier tokens: " + d);
    }
}
