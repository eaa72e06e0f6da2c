package dev.aspo.method.cli;

import static dev.aspo.method.cli.ModelCommandsTest.assertClose;
import static dev.aspo.method.cli.ModelCommandsTest.assertGradients;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code aspo forward} and {@code aspo grad} of the tiny LLaVA fixtures with {@code --device opencl}
 * against transformers' numbers, as on the CPU. Skipped without an OpenCL platform unless
 * {@code ASPO_OPENCL_REQUIRED=1} (CI sets it and installs PoCL).
 */
class OpenClCommandsTest {
    static final Path LLAVA = ModelCommandsTest.LLAVA;

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    @BeforeEach
    void needsOpenCl() {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
    }

    @AfterEach
    void backToCpu() {
        Backends.use(Backends.cpu());
    }

    private void ok(String... args) {
        int rc = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, rc, "exit code; stderr: " + err);
    }

    @Test
    void sixteenBitWeightsAreRefusedOnOpenCl() {
        Path dir = LLAVA.resolve("gqa_untied");
        int rc = Main.run(new String[] {"forward", "--model", dir.toString(), "--input", dir.resolve("input.safetensors").toString(),
            "--out", tmp.resolve("o.safetensors").toString(), "--device", "opencl", "--dtype", "bfloat16"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertTrue(rc != 0, "exit code " + rc);
        assertTrue(err.toString().contains("--dtype bfloat16 holds the weights for the cpu backend")
                && err.toString().contains("use --dtype float32 there"), err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "hub_layout", "padding_layers"})
    void forwardOnOpenClMatchesTransformers(String name) throws Exception {
        Path dir = LLAVA.resolve(name), o = tmp.resolve(name + ".safetensors");
        ok("forward", "--model", dir.toString(), "--input", dir.resolve("input.safetensors").toString(), "--out", o.toString(),
                "--device", "opencl");
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertClose(name + " logits on opencl", e.readFloatArray("logits"), g.readFloatArray("logits"), 1e-4);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_untied", "tied_full_layer1", "padding_layers"})
    void gradOnOpenClMatchesTransformers(String name) throws Exception {
        Path dir = LLAVA.resolve(name), o = tmp.resolve(name + ".grad.safetensors");
        ok("grad", "--model", dir.toString(), "--input", dir.resolve("input.safetensors").toString(), "--out", o.toString(),
                "--device", "opencl");
        try (SafeTensorsFile e = SafeTensorsFile.open(dir.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(o)) {
            assertClose(name + " loss on opencl", e.readFloatArray("loss"), g.readFloatArray("loss"), 1e-5);
            assertGradients(e, g);
        }
    }
}
