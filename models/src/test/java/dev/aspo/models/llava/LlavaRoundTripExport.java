package dev.aspo.models.llava;

import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the Java half of the by-hand check that a directory written by
 * {@link LlavaForConditionalGeneration#save} loads in transformers (no missing, unexpected or
 * mismatched tensor, no warning) with the same logits. Runs only when asked:
 *
 * <pre>
 *   mvn -B -q -o test -pl models -am -Dtest=LlavaRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dllava.roundtrip.out=/tmp/llava-roundtrip
 *   /work/venv/bin/python models/src/test/python/check_llava_roundtrip.py /tmp/llava-roundtrip
 * </pre>
 *
 * Writes, per model, our {@code save} output plus {@code <name>.java_logits.safetensors} (the
 * {@code aspo forward} inputs and our logits): the fixture models re-saved by us (the hub layout
 * one included), and two models initialised here from a seed.
 */
@EnabledIfSystemProperty(named = "llava.roundtrip.out", matches = ".+")
class LlavaRoundTripExport {
    @Test
    void export() throws Exception {
        Path out = Path.of(System.getProperty("llava.roundtrip.out"));
        Files.createDirectories(out);
        for (String name : LlavaFixtures.PARITY_CASES) {
            LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(LlavaFixtures.dir(name));
            try (SafeTensorsFile in = LlavaFixtures.input(name)) {
                int[] shape = in.info("input_ids").shape();
                export(m, out.resolve(name), LlavaFixtures.ints(in, "input_ids"), shape[0], shape[1],
                        LlavaFixtures.mask(in, "attention_mask"), in.readFloat("pixel_values"));
            }
        }
        ClipVisionConfig v = ClipVisionConfig.of(24, 40, 3, 3, 32, 8, ClipActivation.QUICK_GELU);
        LlamaConfig gqa = LlamaConfig.builder().vocabSize(50).hiddenSize(24).intermediateSize(36).numHiddenLayers(2)
                .numAttentionHeads(6).numKeyValueHeads(2).ropeTheta(50000).rmsNormEps(1e-5).initializerRange(0.2).build();
        LlamaConfig tied = gqa.toBuilder().numKeyValueHeads(6).tieWordEmbeddings(true).padTokenId(0).build();
        LlavaConfig a = LlavaConfig.builder(v, gqa).imageTokenIndex(49).visionFeatureLayers(-3, -1)
                .visionFeatureSelectStrategy("full").multimodalProjectorBias(false).build();
        LlavaConfig b = LlavaConfig.builder(v, tied).imageTokenIndex(49).visionFeatureLayer(1).projectorHiddenAct("gelu").build();
        Random rng = new Random(8);
        for (var e : new Object[][] {{"random_layers_full", a}, {"random_tied", b}}) {
            LlavaConfig c = (LlavaConfig) e[1];
            int f = c.featuresPerImage(), t = f + 6;
            int[] ids = new int[2 * t];
            for (int i = 0; i < ids.length; i++) ids[i] = 1 + rng.nextInt(c.textConfig.vocabSize - 2);
            Arrays.fill(ids, 2, 2 + f, c.imageTokenIndex);
            Arrays.fill(ids, t + 1, t + 1 + f, c.imageTokenIndex);
            float[] mask = new float[2 * t];
            Arrays.fill(mask, 1f);
            mask[2 * t - 1] = 0;
            mask[2 * t - 2] = 0;
            // a bigger init than the config's, so that the logits differ from token to token
            LlavaForConditionalGeneration m = LlavaForConditionalGeneration.random(c, 21);
            for (var p : m.namedParameters().entrySet()) {
                if (p.getKey().endsWith("weight") && p.getValue().rank() >= 2) {
                    float[] w = p.getValue().toFloatArray();
                    for (int i = 0; i < w.length; i++) w[i] *= 3;
                    m.copyFrom(p.getKey(), Tensor.of(w, p.getValue().shape()));
                }
            }
            export(m, out.resolve((String) e[0]), ids, 2, t, mask, Tensor.randn(rng, 1f, 2, 3, 32, 32));
        }
        System.out.println("wrote " + out);
    }

    private static void export(LlavaForConditionalGeneration m, Path dir, int[] ids, int b, int t, float[] mask, Tensor px)
            throws Exception {
        m.save(dir);
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            logits = m.forward(ids, b, t, mask, px);
        }
        long[] idsL = new long[ids.length];
        for (int i = 0; i < ids.length; i++) idsL[i] = ids[i];
        SafeTensorsWriter w = new SafeTensorsWriter().putLong("input_ids", idsL, b, t).put("pixel_values", px)
                .put("java.logits", logits);
        if (mask != null) {
            long[] maskL = new long[mask.length];
            for (int i = 0; i < mask.length; i++) maskL[i] = (long) mask[i];
            w.putLong("attention_mask", maskL, b, t);
        }
        w.write(dir.getParent().resolve(dir.getFileName() + ".java_logits.safetensors"));
    }
}
