package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraConfig;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.lora.TargetModules;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aspo merge} on the models module's PEFT fixtures: the merged model computes what PEFT
 * computed with the adapter; {@code --out} is never overwritten; {@code aspo generate --adapter}
 * answers as the merged model does.
 */
class MergeCommandTest {
    static final Path RES = ModelCommandsTest.RES, LORA = RES.resolve("lora");

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private void ok(String... args) {
        assertEquals(0, run(args), "stderr: " + err);
        assertEquals("", err.toString());
    }

    private String oneLineError(String... args) {
        int rc = run(args);
        String e = err.toString();
        assertTrue(rc != 0 && e.indexOf('\n') == e.length() - 1, "rc " + rc + ", stderr: " + e);
        err.getBuffer().setLength(0);
        return e.trim();
    }

    @Test
    void theMergedModelComputesWhatPeftComputedWithTheAdapter() throws IOException {
        Path base = RES.resolve("llava/gqa_untied"), merged = tmp.resolve("merged");
        ok("merge", "--model", base.toString(), "--adapter", LORA.resolve("llava_lists").toString(), "--out", merged.toString());
        assertTrue(out.toString().startsWith("merged 17 LoRA layers of "), out.toString());
        try (Stream<Path> s = Files.list(merged)) {
            assertEquals(new TreeSet<>(List.of("config.json", "model.safetensors")),
                    new TreeSet<>(s.map(p -> p.getFileName().toString()).toList()));
        }
        assertEquals(ConvertGenerateCommandTest.names(base.resolve("model.safetensors")),
                ConvertGenerateCommandTest.names(merged.resolve("model.safetensors")), "the base model's tensor names");
        Path logits = tmp.resolve("logits.safetensors");
        ok("forward", "--model", merged.toString(), "--input", base.resolve("input.safetensors").toString(), "--out", logits.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(LORA.resolve("llava_lists/expected.safetensors"));
             SafeTensorsFile g = SafeTensorsFile.open(logits)) {
            ModelCommandsTest.assertClose("merged logits", e.readFloatArray("logits"), g.readFloatArray("logits"), 1e-4);
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(2, s.count(), "no temporary folder left beside --out");
        }
    }

    @Test
    void outMustBeNewOrEmptyAndBadInputIsOneLine() throws IOException {
        Path base = RES.resolve("llava/gqa_untied"), adapter = LORA.resolve("llava_lists");
        Path full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("notes.txt"), "mine");
        assertEquals("aspo merge: --out " + full + " is not empty; merge writes a new model folder and never overwrites one: give a"
                + " new or empty folder", oneLineError("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out",
                full.toString()));
        assertEquals("mine", Files.readString(full.resolve("notes.txt")));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        ok("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", empty.toString());
        assertTrue(Files.isRegularFile(empty.resolve("model.safetensors")));

        Path none = tmp.resolve("none");
        assertTrue(oneLineError("merge", "--model", base.toString(), "--adapter", none.toString(), "--out", tmp.resolve("x").toString())
                .contains(none + ": no such folder (expected a PEFT adapter directory"));
        assertTrue(oneLineError("merge", "--model", RES.resolve("llava/tied_full_layer1").toString(), "--adapter", adapter.toString(),
                "--out", tmp.resolve("x").toString()).contains("unexpected [base_model.model.lm_head"));
        assertTrue(Files.notExists(tmp.resolve("x")), "a failed merge writes nothing");
    }

    @Test
    void generateWithAnAdapterAnswersAsTheMergedModel() throws IOException {
        Path base = RES.resolve("llava/generate"), adapter = tmp.resolve("adapter"), merged = tmp.resolve("merged");
        LlavaForConditionalGeneration m = LlavaForConditionalGeneration.load(base);
        LoraModel lora = LoraModel.inject(m, LoraConfig.of(4, 16, TargetModules.names("q_proj", "v_proj", "down_proj", "linear_2")), 1);
        Random rng = new Random(2);
        for (Tensor p : lora.trainableParameters().values()) {
            float[] v = Tensor.randn(rng, 0.5f, p.shape()).toFloatArray();
            p.backend().copy2d(Tensor.of(v, p.shape()).storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
        }
        lora.save(adapter);
        String image = "../models/src/test/resources/clip/images/rgb_32x32.png";
        String[] gen = {"generate", "--image", image, "--prompt", "What is this?", "--max-new-tokens", "8"};
        ok(concat(gen, "--model", base.toString()));
        String plain = out.toString();
        out.getBuffer().setLength(0);
        ok(concat(gen, "--model", base.toString(), "--adapter", adapter.toString()));
        String adapted = out.toString();
        out.getBuffer().setLength(0);
        ok("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", merged.toString());
        assertTrue(out.toString().contains("(with tokenizer.json, preprocessor_config.json)"), out.toString());
        out.getBuffer().setLength(0);
        ok(concat(gen, "--model", merged.toString()));
        assertEquals(adapted, out.toString());
        assertNotEquals(plain, adapted, "the adapter changes the answer");
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
