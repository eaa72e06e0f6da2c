package dev.aspo.models.llama;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the Java half of the by-hand check that a checkpoint written by {@link
 * LlamaForCausalLM#save} loads in transformers with the same logits. Runs only when asked:
 *
 * <pre>
 *   mvn -B -q -o test -pl models -am -Dtest=LlamaRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dllama.roundtrip.out=/tmp/llama-roundtrip
 *   /work/venv/bin/python models/src/test/python/check_llama_roundtrip.py /tmp/llama-roundtrip
 * </pre>
 *
 * Writes, per model, our {@code save} output plus {@code java_logits.safetensors} (inputs and our
 * logits): the four fixture models re-saved by us, and two models initialised here from a seed.
 */
@EnabledIfSystemProperty(named = "llama.roundtrip.out", matches = ".+")
class LlamaRoundTripExport {
    @Test
    void export() throws Exception {
        Path out = Path.of(System.getProperty("llama.roundtrip.out"));
        Files.createDirectories(out);
        for (String name : Fixtures.CASES) {
            LlamaForCausalLM m = LlamaForCausalLM.load(Fixtures.dir(name));
            try (SafeTensorsFile f = Fixtures.expected(name)) {
                int[] shape = f.info("input.ids").shape();
                export(m, out.resolve(name), Fixtures.ints(f, "input.ids"), shape[0], shape[1],
                        Fixtures.mask(f, "input.attention_mask"));
            }
        }
        LlamaConfig gqa = LlamaConfig.builder().vocabSize(50).hiddenSize(24).intermediateSize(36).numHiddenLayers(3)
                .numAttentionHeads(6).numKeyValueHeads(2).attentionBias(true).mlpBias(true).ropeTheta(50000)
                .rmsNormEps(1e-5).initializerRange(0.2).bosTokenId(1).eosTokenIds(2, 3).padTokenId(0).build();
        LlamaConfig tied = LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(20).numHiddenLayers(2)
                .numAttentionHeads(2).headDim(12).tieWordEmbeddings(true).initializerRange(0.3).padTokenId(5).build();
        Random rng = new Random(8);
        for (var e : new Object[][] {{"random_gqa", gqa}, {"random_tied", tied}}) {
            LlamaConfig c = (LlamaConfig) e[1];
            int b = 2, t = 6;
            int[] ids = new int[b * t];
            for (int i = 0; i < ids.length; i++) ids[i] = rng.nextInt(c.vocabSize);
            float[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
            export(LlamaForCausalLM.random(c, 21), out.resolve((String) e[0]), ids, b, t, mask);
        }
        System.out.println("wrote " + out);
    }

    private static void export(LlamaForCausalLM m, Path dir, int[] ids, int b, int t, float[] mask) throws Exception {
        m.save(dir);
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            logits = m.forward(ids, b, t, mask);
        }
        long[] idsL = new long[ids.length];
        for (int i = 0; i < ids.length; i++) idsL[i] = ids[i];
        SafeTensorsWriter w = new SafeTensorsWriter().putLong("input.ids", idsL, b, t).put("java.logits", logits);
        if (mask != null) {
            long[] maskL = new long[mask.length];
            for (int i = 0; i < mask.length; i++) maskL[i] = (long) mask[i];
            w.putLong("input.attention_mask", maskL, b, t);
        }
        w.write(dir.getParent().resolve(dir.getFileName() + ".java_logits.safetensors"));
    }
}
