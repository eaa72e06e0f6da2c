package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code aspo forward} and {@code aspo grad} through {@link Main#run} on the models module's
 * transformers fixtures (llava, llama, clip, clip_vision_model): the OUT file against what
 * transformers computed, and the one-line errors.
 */
class ModelCommandsTest {
    static final Path RES = Path.of("../models/src/test/resources");
    static final Path LLAVA = RES.resolve("llava");

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    /** Runs and requires exit 0 with nothing on stderr. */
    private void ok(String... args) {
        int rc = run(args);
        assertEquals(0, rc, "exit code; stderr: " + err);
        assertEquals("", err.toString());
    }

    /** Runs and requires a non-zero exit with exactly one line on stderr, containing every part. */
    private String fails(String[] args, String... parts) {
        int rc = run(args);
        String e = err.toString();
        assertTrue(rc != 0, "exit code " + rc);
        assertTrue(e.endsWith("\n") && e.indexOf('\n') == e.length() - 1, "one line: " + e);
        for (String p : parts) assertTrue(e.contains(p), e);
        err.getBuffer().setLength(0);
        return e.trim();
    }

    /** max |a - e| <= tol for every element. */
    static void assertClose(String what, float[] e, float[] a, double tol) {
        assertEquals(e.length, a.length, what + ": size");
        double max = 0;
        for (int i = 0; i < e.length; i++) max = Math.max(max, Math.abs((double) a[i] - e[i]));
        assertTrue(max <= tol, what + ": max difference " + max + " > " + tol);
    }

    /**
     * Every gradient in {@code got} (named as save_pretrained names the parameter) against
     * {@code grad.<name>} of {@code expected}: max |diff| <= 1e-3 of the tensor's largest entry,
     * never compared at a scale below 1e-4 of the model's largest gradient entry (k_proj.bias has a
     * zero gradient in exact arithmetic, so both sides hold rounding noise there).
     */
    static void assertGradients(SafeTensorsFile expected, SafeTensorsFile got) throws IOException {
        TreeSet<String> want = new TreeSet<>(), have = new TreeSet<>(got.names());
        double global = 0;
        for (String n : expected.names()) {
            if (!n.startsWith("grad.")) continue;
            want.add(n.substring(5));
            for (float v : expected.readFloatArray(n)) global = Math.max(global, Math.abs(v));
        }
        have.remove("loss");
        assertEquals(want, have, "one gradient per parameter, under its HF name");
        for (String n : want) {
            float[] e = expected.readFloatArray("grad." + n), a = got.readFloatArray(n);
            double scale = 1e-4 * global, max = 0;
            for (int i = 0; i < e.length; i++) {
                scale = Math.max(scale, Math.abs(e[i]));
                max = Math.max(max, Math.abs((double) a[i] - e[i]));
            }
            assertTrue(max <= 1e-3 * scale, "gradient of " + n + ": max difference " + max + " > 1e-3 x " + scale);
        }
    }

    // ---- llava --------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "hub_layout", "padding_layers"})
    void forwardWritesTheLogitsTransformersComputed(String name) throws IOException {
        Path dir = LLAVA.resolve(name), o = tmp.resolve("out/" + name + ".safetensors");
        ok("forward", "--model", dir.toString(), "--input", dir.resolve("input.safetensors").toString(), "--out", o.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertEquals(java.util.List.of("logits"), g.names());
            assertEquals(java.util.Arrays.toString(e.info("logits").shape()), java.util.Arrays.toString(g.info("logits").shape()));
            assertClose(name + " logits", e.readFloatArray("logits"), g.readFloatArray("logits"), 1e-4);
        }
    }

    /**
     * {@code --dtype bfloat16/float16}: the logits of transformers computing in float32 with the
     * weight matrices rounded to that format (the models module's make_16bit_fixtures.py), which the
     * float32 run misses by far more than the tolerance.
     */
    @Test
    void forwardWithDtypeHoldsTheMatricesInSixteenBits() throws IOException {
        Path dir = LLAVA.resolve("gqa_untied"), in = dir.resolve("input.safetensors");
        Path f32 = tmp.resolve("f32.safetensors");
        ok("forward", "--model", dir.toString(), "--input", in.toString(), "--out", f32.toString(), "--dtype", "float32");
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected_16bit.safetensors"));
             SafeTensorsFile full = SafeTensorsFile.open(f32)) {
            for (String dtype : new String[] {"bfloat16", "float16"}) {
                Path o = tmp.resolve(dtype + ".safetensors");
                ok("forward", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString(), "--dtype", dtype);
                try (SafeTensorsFile g = SafeTensorsFile.open(o)) {
                    float[] want = e.readFloatArray("logits." + dtype);
                    assertClose(dtype + " logits", want, g.readFloatArray("logits"), 1e-4);
                    double off = 0;
                    float[] f = full.readFloatArray("logits");
                    for (int i = 0; i < f.length; i++) off = Math.max(off, Math.abs((double) f[i] - want[i]));
                    assertTrue(off > 1e-3, dtype + ": the float32 run is only " + off + " away");
                }
            }
        }
        Path o = tmp.resolve("x.safetensors");
        assertEquals("aspo forward: --dtype: unknown dtype \"bfloat17\" (expected float32, bfloat16 or float16)",
                fails(new String[] {"forward", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString(),
                    "--dtype", "bfloat17"}));
        fails(new String[] {"grad", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString(), "--dtype", "bfloat16"},
                "--dtype bfloat16: grad writes the gradient of every parameter", "run grad with --dtype float32");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "tied_full_layer1", "padding_layers"})
    void gradWritesTheLossAndEveryGradientTransformersComputed(String name) throws IOException {
        Path dir = LLAVA.resolve(name), o = tmp.resolve(name + ".grad.safetensors");
        ok("grad", "--model", dir.toString(), "--input", dir.resolve("input.safetensors").toString(), "--out", o.toString(),
                "--device", "cpu");
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertEquals("[1]", java.util.Arrays.toString(g.info("loss").shape()));
            assertClose(name + " loss", e.readFloatArray("loss"), g.readFloatArray("loss"), 1e-5);
            assertGradients(e, g);
        }
    }

    // ---- llama, clip, clip_vision_model -------------------------------------------------------

    /** The llama fixture's inputs (input.ids, ...) under the CLI's names. */
    Path llamaInput(SafeTensorsFile f) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().putLong("input_ids", f.readLong("input.ids"))
                .putLong("labels", f.readLong("input.labels"));
        if (f.contains("input.attention_mask")) w.putLong("attention_mask", f.readLong("input.attention_mask"));
        Path in = tmp.resolve("llama_in.safetensors");
        w.write(in);
        return in;
    }

    @Test
    void llamaForwardAndGradMatchTransformers() throws IOException {
        Path dir = RES.resolve("llama/right_padding");
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected.safetensors"))) {
            Path in = llamaInput(e), fo = tmp.resolve("f.safetensors"), go = tmp.resolve("g.safetensors");
            ok("forward", "--model", dir.toString(), "--input", in.toString(), "--out", fo.toString());
            ok("grad", "--model", dir.toString(), "--input", in.toString(), "--out", go.toString());
            try (SafeTensorsFile f = SafeTensorsFile.open(fo); SafeTensorsFile g = SafeTensorsFile.open(go)) {
                assertClose("llama logits", e.readFloatArray("expected.logits"), f.readFloatArray("logits"), 1e-4);
                assertClose("llama loss", e.readFloatArray("expected.loss"), g.readFloatArray("loss"), 1e-5);
                assertGradients(e, g);
            }
        }
    }

    @Test
    void clipForwardGivesTheEmbeddingsOfTheInputsPresentAndGradTheContrastiveLoss() throws IOException {
        Path dir = RES.resolve("clip/clip"), in = dir.resolve("expected.safetensors"), o = tmp.resolve("clip.safetensors");
        ok("forward", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(in); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertEquals(new TreeSet<>(java.util.List.of("image_embeds", "text_embeds")), new TreeSet<>(g.names()));
            assertClose("text_embeds", e.readFloatArray("text_embeds"), g.readFloatArray("text_embeds"), 1e-4);
            assertClose("image_embeds", e.readFloatArray("image_embeds"), g.readFloatArray("image_embeds"), 1e-4);

            Path onlyImages = tmp.resolve("px.safetensors");
            new SafeTensorsWriter().put("pixel_values", e.readFloat("pixel_values")).write(onlyImages);
            Path o2 = tmp.resolve("clip2.safetensors");
            ok("forward", "--model", dir.toString(), "--input", onlyImages.toString(), "--out", o2.toString());
            try (SafeTensorsFile g2 = SafeTensorsFile.open(o2)) {
                assertEquals(java.util.List.of("image_embeds"), g2.names());
            }

            Path go = tmp.resolve("clip_grad.safetensors");
            ok("grad", "--model", dir.toString(), "--input", in.toString(), "--out", go.toString());
            try (SafeTensorsFile gg = SafeTensorsFile.open(go)) {
                assertClose("clip loss", e.readFloatArray("loss"), gg.readFloatArray("loss"), 1e-5);
                assertGradients(e, gg);
            }
        }
    }

    @Test
    void clipVisionModelForwardGivesLastHiddenStateAndPoolerOutput() throws IOException {
        Path dir = RES.resolve("clip/clip_vision_model"), in = dir.resolve("expected.safetensors"), o = tmp.resolve("v.safetensors");
        ok("forward", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(in); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertClose("last_hidden_state", e.readFloatArray("last_hidden_state"), g.readFloatArray("last_hidden_state"), 1e-4);
            assertClose("pooler_output", e.readFloatArray("pooler_output"), g.readFloatArray("pooler_output"), 1e-4);
        }
        fails(new String[] {"grad", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString()},
                "aspo grad: ", "grad supports llava, llama and clip models; clip_vision_model has no loss");
    }

    // ---- errors -------------------------------------------------------------------------------

    @Test
    void badInputsAreOneLineAndANonZeroExit() throws IOException {
        Path dir = LLAVA.resolve("gqa_untied"), in = dir.resolve("input.safetensors"), o = tmp.resolve("o.safetensors");
        String e = fails(new String[] {"forward", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString(),
                "--device", "cuda"});
        assertEquals("aspo forward: unknown device 'cuda': use cpu, opencl or opencl:P:D", e);
        e = fails(new String[] {"grad", "--model", dir.toString(), "--input", in.toString(), "--out", o.toString(), "--device",
                "opencl:9:9"}, "aspo grad: ");
        assertTrue(e.contains("no OpenCL device opencl:9:9; present: ") || e.contains("no OpenCL platform found"), e);

        try (SafeTensorsFile f = SafeTensorsFile.open(in)) {
            Path noLabels = tmp.resolve("nolabels.safetensors");
            new SafeTensorsWriter().putLong("input_ids", f.readLong("input_ids")).put("pixel_values", f.readFloat("pixel_values"))
                    .write(noLabels);
            fails(new String[] {"grad", "--model", dir.toString(), "--input", noLabels.toString(), "--out", o.toString()},
                    "aspo grad: ", "no labels");
            Path oneImage = tmp.resolve("oneimage.safetensors");
            new SafeTensorsWriter().putLong("input_ids", f.readLong("input_ids"))
                    .put("pixel_values", dev.aspo.tensor.ops.Shapes.slice(f.readFloat("pixel_values"), 0, 0, 1)).write(oneImage);
            fails(new String[] {"forward", "--model", dir.toString(), "--input", oneImage.toString(), "--out", o.toString()},
                    "aspo forward: ", "32 image tokens", "16 image features");
            Path badMask = tmp.resolve("badmask.safetensors");
            new SafeTensorsWriter().putLong("input_ids", f.readLong("input_ids")).putLong("attention_mask", new long[] {1, 1}, 1, 2)
                    .write(badMask);
            fails(new String[] {"forward", "--model", dir.toString(), "--input", badMask.toString(), "--out", o.toString()},
                    "attention_mask is [1, 2] but input_ids is [2, 23]");
        }
        fails(new String[] {"forward", "--model", tmp.toString(), "--input", in.toString(), "--out", o.toString()}, "no config.json");
        fails(new String[] {"forward", "--model", dir.toString(), "--input", tmp.resolve("absent").toString(), "--out", o.toString()},
                "absent: no such file");
        Path llama = RES.resolve("llama/gqa_untied");
        fails(new String[] {"forward", "--model", llama.toString(), "--input", in.toString(), "--out", o.toString()},
                "pixel_values given, but a llama model takes no images");
        assertEquals(2, run("forward", "--model", dir.toString()), "a missing option is a usage error");
    }
}
