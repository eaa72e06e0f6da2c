package dev.aspo.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Reductions;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Our CLIP against transformers 5.17 on the fixtures of {@code models/src/test/python/make_clip_fixtures.py}:
 * outputs within 1e-4 (absolute), every parameter gradient within 1e-3 of the largest entry of that
 * gradient. The measured maxima are printed.
 */
class ClipParityTest {
    static final double OUT_TOL = 1e-4, GRAD_REL_TOL = 1e-3;

    static Path resource(String name) {
        try {
            return Path.of(ClipParityTest.class.getResource("/clip/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static int[] ints(SafeTensorsFile f, String name) throws IOException {
        return f.readLong(name).toIntArray();
    }

    @Test
    void clipModelMatchesTransformersOutputsLossAndEveryGradient() throws IOException {
        Path dir = resource("clip");
        ClipModel model = ClipModel.load(dir);
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("expected.safetensors"))) {
            int[] shape = f.readLong("input_ids").shape();
            int b = shape[0], t = shape[1];
            int[] ids = ints(f, "input_ids"), mask = ints(f, "attention_mask");
            Tensor pixels = f.readFloat("pixel_values");

            ClipOutput out = model.forward(ids, b, t, mask, pixels, true);
            close(f, "image_embeds", out.imageEmbeds());
            close(f, "text_embeds", out.textEmbeds());
            close(f, "logits_per_image", out.logitsPerImage());
            close(f, "logits_per_text", out.logitsPerText());
            close(f, "loss", out.loss());
            close(f, "vision.last_hidden_state", out.visionModelOutput().lastHiddenState());
            close(f, "vision.pooler_output", out.visionModelOutput().poolerOutput());
            close(f, "text.last_hidden_state", out.textModelOutput().lastHiddenState());
            List<Tensor> hs = out.visionModelOutput().hiddenStates();
            assertEquals(model.config().visionConfig().numHiddenLayers() + 1, hs.size());
            for (int i = 0; i < hs.size(); i++) close(f, "vision.hidden_states." + i, hs.get(i));

            out.loss().backward();
            gradients(f, model.namedParameters(), n -> n);

            close(f, "image_features", model.imageFeatures(pixels));
            close(f, "text_features", model.textFeatures(ids, b, t, mask));
            close(f, "image_embeds", model.imageEmbeds(pixels));
            close(f, "text_embeds", model.textEmbeds(ids, b, t, mask));
            close(f, "logits_per_image", model.logitsPerImage(model.imageEmbeds(pixels), model.textEmbeds(ids, b, t, mask)));

            // the legacy eos_token_id == 2 rule pools at the largest id
            ClipConfig c = model.config();
            ClipConfig eos2 = new ClipConfig(c.textConfig().withEosTokenId(2), c.visionConfig(), c.projectionDim(),
                    c.logitScaleInitValue(), c.initializerFactor(), c.extra());
            ClipModel legacy = new ClipModel(eos2);
            model.namedParameters().forEach(legacy::copyFrom);
            close(f, "text_features_eos2", legacy.textFeatures(ids, b, t, mask));
            assertTrue(!Arrays.equals(ClipTextTransformer.poolPositions(ids, b, t, 2),
                    ClipTextTransformer.poolPositions(ids, b, t, 50)), "the fixture tells the two pooling rules apart");
        }
    }

    @Test
    void visionModelMatchesTransformersSavedWithoutPrefix() throws IOException {
        Path dir = resource("clip_vision_model");
        ClipVisionModel model = ClipVisionModel.load(dir);
        assertEquals(ClipActivation.GELU, model.config().hiddenAct());
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("expected.safetensors"))) {
            ClipVisionOutput out = model.forward(f.readFloat("pixel_values"));
            close(f, "last_hidden_state", out.lastHiddenState());
            close(f, "pooler_output", out.poolerOutput());
            for (int i = 0; i < out.hiddenStates().size(); i++) close(f, "hidden_states." + i, out.hiddenStates().get(i));
            assertEquals(3, out.hiddenStates().size());

            Tensor loss = Arithmetic.add(
                    Reductions.sum(Arithmetic.mul(out.lastHiddenState(), f.readFloat("r_last"))),
                    Reductions.sum(Arithmetic.mul(out.poolerOutput(), f.readFloat("r_pool"))));
            close(f, "loss", loss);
            loss.backward();
            gradients(f, model.namedParameters(), n -> n.substring(ClipVisionModel.PREFIX.length()));
        }
    }

    @Test
    void hiddenStateRunsOnlyTheLayersItNeedsAndIndexesLikePython() throws IOException {
        Path dir = resource("clip");
        ClipVisionModel tower = ClipVisionModel.load(dir);      // the vision tower of a clip directory
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("expected.safetensors"))) {
            Tensor pixels = f.readFloat("pixel_values");
            close(f, "vision.hidden_states.1", tower.visionModel.hiddenState(pixels, -2));
            close(f, "vision.hidden_states.2", tower.visionModel.hiddenState(pixels, -1));
            close(f, "vision.hidden_states.0", tower.visionModel.hiddenState(pixels, 0));
            close(f, "vision.pooler_output", tower.pooled(pixels));
            List<Tensor> hs = tower.hiddenStates(pixels);
            for (int i = 0; i < hs.size(); i++) close(f, "vision.hidden_states." + i, hs.get(i));
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> tower.visionModel.hiddenState(Tensor.zeros(1, 3, 32, 32), 3));
        assertTrue(e.getMessage().contains("index 3"), e.getMessage());
    }

    /** Output {@code name} of the fixture against ours: same shape, within {@link #OUT_TOL}. */
    static void close(SafeTensorsFile f, String name, Tensor actual) throws IOException {
        Tensor expected = f.readFloat(name);
        int[] es = expected.shape();
        if (es.length == 0) es = new int[] {1};
        assertArrayEquals(es, actual.shape(), name + ": shape");
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        double max = 0;
        for (int i = 0; i < e.length; i++) max = Math.max(max, Math.abs((double) e[i] - a[i]));
        System.out.printf("  %-28s max |diff| %.3g%n", name, max);
        if (!(max <= OUT_TOL)) fail(name + ": max |diff| " + max + " exceeds " + OUT_TOL);
    }

    /**
     * Every parameter's gradient against the fixture's {@code grad.<hf name>}, relative to its largest
     * entry. {@code k_proj.bias} has a zero gradient in exact arithmetic (softmax ignores the
     * constant {@code q . b_k} every key gets), so both sides hold rounding noise there: the scale
     * never drops below 1e-4 of the model's largest gradient entry.
     */
    static void gradients(SafeTensorsFile f, Map<String, Tensor> params, java.util.function.Function<String, String> toHf)
            throws IOException {
        double global = 0;
        for (String n : f.names()) {
            if (n.startsWith("grad.")) for (float v : f.readFloatArray(n)) global = Math.max(global, Math.abs(v));
        }
        double worst = 0, worstExact = 0;
        String worstName = null;
        Map<String, Double> all = new TreeMap<>();
        for (var p : params.entrySet()) {
            String hf = "grad." + toHf.apply(p.getKey());
            assertTrue(f.contains(hf), "fixture has " + hf);
            float[] e = f.readFloatArray(hf);
            Tensor g = p.getValue().grad();
            if (g == null) fail(p.getKey() + ": no gradient");
            float[] a = g.toFloatArray();
            assertEquals(e.length, a.length, hf);
            double floor = 1e-4 * global, scale = floor, max = 0;
            for (float v : e) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < e.length; i++) max = Math.max(max, Math.abs((double) e[i] - a[i]));
            double rel = max / scale;
            all.put(p.getKey(), rel);
            if (scale > floor) worstExact = Math.max(worstExact, rel);
            if (rel > worst) {
                worst = rel;
                worstName = p.getKey();
            }
            if (!(rel <= GRAD_REL_TOL)) fail("gradient of " + p.getKey() + ": max |diff| / max |grad| = " + rel);
        }
        long expectedCount = f.names().stream().filter(n -> n.startsWith("grad.")).count();
        assertEquals(expectedCount, params.size(), "one fixture gradient per parameter");
        System.out.printf("  %d gradients, worst relative diff %.3g (%s); %.3g among the nonzero ones%n", all.size(), worst,
                worstName, worstExact);
    }
}
