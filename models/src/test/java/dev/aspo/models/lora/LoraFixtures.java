package dev.aspo.models.lora;

import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * The fixtures of {@code models/src/test/python/make_lora_fixtures.py} (cases described there):
 * each adapter case, the base model it sits on and that base case's inputs.
 */
final class LoraFixtures {
    private LoraFixtures() {}

    /** An adapter case: its directory name, the base model's fixture ({@code llava/...} or {@code llama/...}). */
    enum Case {
        LLAVA_LISTS("llava_lists", "llava/gqa_untied"),
        LLAVA_REGEX_RSLORA("llava_regex_rslora", "llava/tied_full_layer1"),
        LLAVA_4X_NAMES("llava_4x_names", "llava/gqa_untied"),
        LLAMA_ALL_LINEAR("llama_all_linear", "llama/gqa_untied");

        final String name, base;

        Case(String name, String base) {
            this.name = name;
            this.base = base;
        }

        Path dir() {
            return resource("lora/" + name);
        }

        Path baseDir() {
            return resource(base);
        }

        /** The case whose expectations this one shares (the 4.x-named copy has none of its own). */
        Case expectations() {
            return this == LLAVA_4X_NAMES ? LLAVA_LISTS : this;
        }

        boolean llava() {
            return base.startsWith("llava/");
        }

        Module loadBase() throws IOException {
            return llava() ? LlavaForConditionalGeneration.load(baseDir()) : LlamaForCausalLM.load(baseDir());
        }

        Inputs inputs() throws IOException {
            if (llava()) {
                try (SafeTensorsFile in = SafeTensorsFile.open(baseDir().resolve("input.safetensors"))) {
                    int[] shape = in.info("input_ids").shape();
                    return new Inputs(ints(in, "input_ids"), shape[0], shape[1], mask(in, "attention_mask"),
                            in.readFloat("pixel_values"), ints(in, "labels"));
                }
            }
            try (SafeTensorsFile in = SafeTensorsFile.open(baseDir().resolve("expected.safetensors"))) {
                int[] shape = in.info("input.ids").shape();
                return new Inputs(ints(in, "input.ids"), shape[0], shape[1], mask(in, "input.attention_mask"), null,
                        ints(in, "input.labels"));
            }
        }

        SafeTensorsFile expected() throws IOException {
            return SafeTensorsFile.open(expectations().dir().resolve("expected.safetensors"));
        }

        /** The base model's own logits, as transformers computed them for its parity test. */
        float[] baseLogits() throws IOException {
            try (SafeTensorsFile f = SafeTensorsFile.open(baseDir().resolve("expected.safetensors"))) {
                return f.readFloatArray(llava() ? "logits" : "expected.logits");
            }
        }
    }

    /** A batch: ids {@code [B*T]} (image tokens expanded), mask or null, pixel values or null, labels. */
    record Inputs(int[] ids, int batch, int seq, float[] mask, Tensor pixels, int[] labels) {
        Tensor logits(Module m) {
            return m instanceof LlavaForConditionalGeneration l ? l.forward(ids, batch, seq, mask, pixels)
                    : ((LlamaForCausalLM) m).forward(ids, batch, seq, mask);
        }

        Tensor loss(Module m) {
            return LlamaForCausalLM.causalLmLoss(logits(m), labels);
        }
    }

    static Path resource(String dir) {
        try {
            return Path.of(LoraFixtures.class.getResource("/" + dir).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int[] ints(SafeTensorsFile f, String name) throws IOException {
        return f.readLong(name).toIntArray();
    }

    private static float[] mask(SafeTensorsFile f, String name) throws IOException {
        if (!f.contains(name)) return null;
        int[] m = ints(f, name);
        float[] out = new float[m.length];
        for (int i = 0; i < m.length; i++) out[i] = m[i];
        return out;
    }
}
