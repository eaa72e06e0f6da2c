package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** {@code aspo bench aspo-lora --shape tiny}: the JSON line and its figures, and the one-line errors. */
class BenchAspoLoraCommandTest {
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void printsOneJsonLineWithEveryPartsTimeAndMemory() throws IOException {
        int rc = run("bench", "aspo-lora", "--shape", "tiny", "--rank", "4", "--steps", "2");
        assertEquals(0, rc, "exit code; stderr: " + err);
        String[] lines = out.toString().trim().split("\n");
        assertEquals(1, lines.length, out.toString());
        JsonNode j = new ObjectMapper().readTree(lines[0]);
        for (String k : new String[] {"build_s", "reference_s", "forward_s", "backward_s", "step_s", "weights_bytes", "adapter_params",
                "adapter_bytes", "adapter_grad_bytes", "adam_moment_bytes", "live_heap_mb_after_build", "live_heap_mb_after_step",
                "peak_heap_mb", "peak_heap_pools_mb", "build_peak_heap_mb", "reference_peak_heap_mb", "forward_peak_heap_mb",
                "backward_peak_heap_mb", "optimizer_peak_heap_mb", "grad_norm", "max_abs_logit", "max_heap_mb"}) {
            assertTrue(j.has(k) && j.get(k).asDouble() > 0, k + " in " + j);
        }
        assertTrue(j.get("optimizer_s").asDouble() >= 0 && j.has("adapters_s"), j.toString());
        for (String phase : new String[] {"build", "reference", "forward", "backward", "optimizer"}) {
            // 0 when no collection ran in the phase (a tiny model's step may need none)
            assertTrue(j.get(phase + "_peak_live_mb").asDouble() >= 0, phase + " in " + j);
        }
        assertTrue(j.get("peak_live_heap_mb").asDouble() <= j.get("peak_heap_mb").asDouble(), j.toString());
        if (new java.io.File("/proc/self/status").exists()) {
            assertTrue(j.get("peak_rss_mb").asDouble() >= j.get("rss_mb_after_build").asDouble(), j.toString());
        }
        assertEquals(Math.log(2), j.get("loss").asDouble(), 1e-6, "the first step's adapters compute the base model");
        assertEquals(4 * j.get("adapter_params").asLong(), j.get("adapter_bytes").asLong());
        assertEquals(2 * j.get("adapter_bytes").asLong(), j.get("adam_moment_bytes").asLong());
        assertEquals("bfloat16", j.get("dtype").asText());
        assertTrue(j.get("gradient_checkpointing").asBoolean());
        assertEquals(4, j.get("sequence_tokens").size());
        JsonNode later = j.get("later_steps");
        assertEquals(1, later.size());
        assertTrue(later.get(0).get("loss").asDouble() < j.get("loss").asDouble(), j.toString());
        assertTrue(j.get("peak_heap_mb").asDouble() >= j.get("live_heap_mb_after_step").asDouble(), j.toString());
        assertTrue(err.toString().contains("aspo-lora: step done"), err.toString());
    }

    @Test
    void badArgumentsAreOneLine() {
        String[][] cases = {
                {"--shape", "llava-13b"}, {"--shape", "tiny", "--micro-batch", "3"}, {"--shape", "tiny", "--dtype", "float32"},
                {"--shape", "tiny", "--layers", "0"}, {"--shape", "tiny", "--lora-dropout", "1"}};
        String[] expected = {
                "aspo aspo-lora: --shape: unknown shape 'llava-13b' (known: llava-1.5-7b, tiny)",
                "aspo aspo-lora: --micro-batch must be in [1, --pairs = 2], got 3",
                "aspo aspo-lora: --dtype float32: the bench makes its random weights in 16 bits; use bfloat16 or float16",
                "aspo aspo-lora: --layers must be at least 1, got 0",
                "aspo aspo-lora: --lora-dropout must be in [0, 1), got 1.0"};
        for (int i = 0; i < cases.length; i++) {
            err.getBuffer().setLength(0);
            String[] args = new String[cases[i].length + 2];
            args[0] = "bench";
            args[1] = "aspo-lora";
            System.arraycopy(cases[i], 0, args, 2, cases[i].length);
            assertEquals(1, run(args), String.join(" ", cases[i]));
            assertEquals(expected[i], err.toString().trim());
        }
    }
}
