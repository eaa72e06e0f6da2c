package dev.aspo.models.llava;

import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The fixtures of {@code models/src/test/python/make_llava_fixtures.py} (cases described there). */
final class LlavaFixtures {
    private LlavaFixtures() {}

    /** The cases with {@code input.safetensors} and logits, loss and gradients in {@code expected.safetensors}. */
    static final String[] PARITY_CASES = {"gqa_untied", "tied_full_layer1", "hub_layout", "padding_layers"};

    static Path dir(String name) {
        try {
            return Path.of(LlavaFixtures.class.getResource("/llava/" + name + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static SafeTensorsFile input(String name) throws IOException {
        return SafeTensorsFile.open(dir(name).resolve("input.safetensors"));
    }

    static SafeTensorsFile expected(String name) throws IOException {
        return SafeTensorsFile.open(dir(name).resolve("expected.safetensors"));
    }

    /** An I64 tensor as ints. */
    static int[] ints(SafeTensorsFile f, String name) throws IOException {
        return f.readLong(name).toIntArray();
    }

    /** An I64 0/1 attention mask as floats, or null when the file has none. */
    static float[] mask(SafeTensorsFile f, String name) throws IOException {
        if (!f.contains(name)) return null;
        int[] m = ints(f, name);
        float[] out = new float[m.length];
        for (int i = 0; i < m.length; i++) out[i] = m[i];
        return out;
    }
}
