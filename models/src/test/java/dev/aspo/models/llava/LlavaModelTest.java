package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The image-token splice and the vision feature selection, on a random model. */
class LlavaModelTest {
    static final LlavaConfig CONFIG = LlavaConfigTest.tiny().build();
    static final LlavaForConditionalGeneration MODEL = LlavaForConditionalGeneration.random(CONFIG, 7);
    static final int F = CONFIG.featuresPerImage(), IMG = CONFIG.imageTokenIndex;

    static Tensor pixels(int images, long seed) {
        return Tensor.randn(new Random(seed), 1f, images, 3, 32, 32);
    }

    /** {@code [1, 5, IMG x f, 6]} then {@code [IMG x f, 7]}: two rows with one image each, padded to one length. */
    static int[] twoRows(int f, int t) {
        int[] ids = new int[2 * t];
        ids[0] = 1;
        ids[1] = 5;
        Arrays.fill(ids, 2, 2 + f, IMG);
        ids[2 + f] = 6;
        Arrays.fill(ids, t, t + f, IMG);
        ids[t + f] = 7;
        return ids;
    }

    @Test
    void imageTokensTakeTheFeaturesInOrderAcrossRows() {
        int t = F + 3;
        int[] ids = twoRows(F, t);
        Tensor px = pixels(2, 1);
        try (var g = Autograd.noGrad()) {
            float[] e = MODEL.inputsEmbeds(ids, 2, t, px).toFloatArray();
            float[] feats = MODEL.imageFeatures(px).toFloatArray();           // [2, F, C]
            float[] tokens = MODEL.languageModel.embed(ids, 2, t).toFloatArray();  // image id 39 < vocab 40
            int c = CONFIG.textConfig.hiddenSize;
            for (int i = 0, f = 0; i < ids.length; i++) {
                float[] got = Arrays.copyOfRange(e, i * c, (i + 1) * c);
                float[] want = ids[i] == IMG ? Arrays.copyOfRange(feats, f * c, (++f) * c) : Arrays.copyOfRange(tokens, i * c, (i + 1) * c);
                assertArrayEquals(want, got, "position " + i);
            }
        }
    }

    @Test
    void aWrongNumberOfImageTokensNamesBothCounts() {
        int t = F + 3;
        int[] ids = twoRows(F, t);
        ids[2] = 9;                                               // one image token fewer
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MODEL.forward(ids, 2, t, null, pixels(2, 1)));
        assertTrue(e.getMessage().contains("hold " + (2 * F - 1) + " image tokens (id " + IMG + ")")
                && e.getMessage().contains("give " + 2 * F + " image features (2 images x " + F + ")"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MODEL.forward(twoRows(F, t), 2, t, null, pixels(1, 1)));
        e = assertThrows(IllegalArgumentException.class, () -> MODEL.forward(twoRows(F, t), 2, t, null, Tensor.zeros(2, 3, 32)));
        assertTrue(e.getMessage().contains("pixel_values must be"), e.getMessage());
    }

    @Test
    void withoutPixelsEveryIdIsAToken() {
        int[] ids = {1, 5, 6, 7, 8, 9};
        try (var g = Autograd.noGrad()) {
            assertArrayEquals(MODEL.languageModel.forward(ids, 2, 3, null).toFloatArray(),
                    MODEL.forward(ids, 2, 3, null, null).toFloatArray());
        }
    }

    @Test
    void featureLayersAndStrategySelectHiddenStates() {
        Tensor px = pixels(2, 3);
        try (var g = Autograd.noGrad()) {
            var hs = MODEL.visionTower.hiddenStates(px);                       // h0, h1, h2: [2, 17, 16]
            LlavaForConditionalGeneration full = new LlavaForConditionalGeneration(
                    LlavaConfigTest.tiny().visionFeatureLayers(0, -1).visionFeatureSelectStrategy("full").build());
            for (var e : MODEL.visionTower.namedParameters().entrySet()) full.copyFrom("vision_tower." + e.getKey(), e.getValue());
            assertArrayEquals(Shapes.concat(2, hs.get(0), hs.get(2)).toFloatArray(), full.visionFeatures(px).toFloatArray());
            Tensor h1 = hs.get(1);
            assertArrayEquals(Shapes.slice(h1, 1, 1, 17).toFloatArray(), MODEL.visionFeatures(px).toFloatArray(),
                    "layer -2 of 2, class token dropped");
            assertArrayEquals(new int[] {2, 16, 16}, MODEL.visionFeatures(px).shape());
            assertArrayEquals(new int[] {2, 16, CONFIG.textConfig.hiddenSize}, MODEL.imageFeatures(px).shape());
        }
    }

    @Test
    void aTokenOnlyGradientSkipsTheImagePositions() {
        // The image token's embedding row gets gradient only from text positions holding it
        // (none here): transformers' masked_scatter gives the replaced positions none.
        LlavaForConditionalGeneration m = LlavaForConditionalGeneration.random(CONFIG, 8);
        int t = F + 3;
        int[] ids = twoRows(F, t);
        int[] labels = ids.clone();
        m.loss(ids, 2, t, null, pixels(2, 2), labels).backward();
        float[] g = m.languageModel.model.embedTokens.weight.grad().toFloatArray();
        int c = CONFIG.textConfig.hiddenSize;
        for (int k = 0; k < c; k++) assertEquals(0f, g[IMG * c + k], "row of the image token");
        assertTrue(m.multiModalProjector.linear1.weight.grad() != null, "the projector learns");
        assertTrue(m.visionTower.postLayernorm.weight.grad() == null, "post_layernorm is unused, as in transformers");
    }
}
