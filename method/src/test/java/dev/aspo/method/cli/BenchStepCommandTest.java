package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code aspo bench step} on the llava gqa_untied fixture: the JSON line and its figures, the loss
 * of the first step against the one transformers computed, and the one-line errors.
 */
class BenchStepCommandTest {
    static final Path DIR = ModelCommandsTest.LLAVA.resolve("gqa_untied");

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void printsOneJsonLineWithTheStepTimeAndMemory() throws IOException {
        int rc = run("bench", "step", "--model", DIR.toString(), "--input", DIR.resolve("input.safetensors").toString(),
                "--steps", "3", "--warmup", "0", "--device", "cpu");
        assertEquals(0, rc, "exit code; stderr: " + err);
        assertEquals("", err.toString());
        String[] lines = out.toString().trim().split("\n");
        JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
        assertEquals(3, j.get("steps").asInt());
        double sec = j.get("seconds_per_step").asDouble();
        assertTrue(sec > 0 && sec >= j.get("min_seconds").asDouble(), j.toString());
        // 2 rows x 2 images' worth of tokens: tokens_per_s is batch * seq / seconds_per_step
        int[] shape;
        try (SafeTensorsFile f = SafeTensorsFile.open(DIR.resolve("input.safetensors"))) {
            shape = f.info("input_ids").shape();
        }
        assertEquals(shape[0] * shape[1] / sec, j.get("tokens_per_s").asDouble(), 0.1 + 1e-3 * j.get("tokens_per_s").asDouble());
        for (String k : new String[] {"forward_s", "backward_s", "optimizer_s", "peak_heap_mb", "live_heap_mb", "allocated_mb_per_step"}) {
            assertTrue(j.get(k).asDouble() > 0, k + " in " + j);
        }
        assertTrue(j.get("peak_heap_mb").asDouble() >= j.get("live_heap_mb").asDouble() * 0.5, j.toString());
        // no warm-up: the first timed step sees the initial weights, so its loss is transformers' loss
        try (SafeTensorsFile e = SafeTensorsFile.open(DIR.resolve("expected.safetensors"))) {
            assertEquals(e.readFloatArray("loss")[0], j.get("first_loss").asDouble(), 1e-5);
        }
        assertTrue(j.get("last_loss").asDouble() < j.get("first_loss").asDouble(), "AdamW lowers the loss of its batch: " + j);
    }

    @Test
    void badArgumentsAreOneLine() {
        String in = DIR.resolve("input.safetensors").toString();
        assertTrue(run("bench", "step", "--model", DIR.toString(), "--input", in, "--steps", "0") != 0);
        assertTrue(err.toString().trim().equals("aspo step: --steps must be at least 1, got 0"), err.toString());
        err.getBuffer().setLength(0);
        assertTrue(run("bench", "step", "--model", DIR.toString(), "--input", in, "--device", "cuda") != 0);
        assertEquals("aspo step: unknown device 'cuda': use cpu, opencl or opencl:P:D", err.toString().trim());
        assertEquals(1, err.toString().trim().split("\n").length, err.toString());
    }
}
