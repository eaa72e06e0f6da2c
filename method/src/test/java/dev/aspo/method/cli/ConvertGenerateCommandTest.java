package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aspo convert} (a llava-hf hub layout in, transformers 5.17's layout out, same logits) and
 * {@code aspo generate} (transformers' greedy answer on the models module's generate fixture).
 */
class ConvertGenerateCommandTest {
    static final Path LLAVA = ModelCommandsTest.LLAVA;

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private String oneLineError(String... args) {
        int rc = run(args);
        String e = err.toString();
        assertTrue(rc != 0 && e.indexOf('\n') == e.length() - 1, "rc " + rc + ", stderr: " + e);
        err.getBuffer().setLength(0);
        return e.trim();
    }

    static TreeSet<String> names(Path file) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            return new TreeSet<>(f.names());
        }
    }

    @Test
    void convertRewritesTheHubLayoutAsTransformers517SavesIt() throws IOException {
        Path src = LLAVA.resolve("hub_layout"), dst = tmp.resolve("converted");
        assertEquals(0, run("convert", "--model", src.toString(), "--out", dst.toString()), err.toString());
        assertTrue(out.toString().startsWith("converted llava model "), out.toString());
        assertEquals(names(LLAVA.resolve("gqa_untied/model.safetensors")), names(dst.resolve("model.safetensors")));
        Path logits = tmp.resolve("logits.safetensors");
        assertEquals(0, run("forward", "--model", dst.toString(), "--input", src.resolve("input.safetensors").toString(), "--out",
                logits.toString()), err.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(src.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(logits)) {
            ModelCommandsTest.assertClose("logits after convert", e.readFloatArray("logits"), g.readFloatArray("logits"), 1e-4);
        }
        Path bad = Files.createDirectory(tmp.resolve("bad"));
        Files.writeString(bad.resolve("config.json"), "{\"model_type\": \"llava_next\"}");
        assertTrue(oneLineError("convert", "--model", bad.toString(), "--out", tmp.resolve("x").toString())
                .contains("model_type \"llava_next\" is not supported (supported: llava, llama, clip, clip_vision_model)"));
    }

    static final Path LLAMA = ModelCommandsTest.RES.resolve("llama");

    @Test
    void convertWritesShardsWithMaxShardSizeAndReadsThemBack() throws IOException {
        Path src = LLAVA.resolve("gqa_untied"), sharded = tmp.resolve("sharded"), single = tmp.resolve("single");
        assertEquals(0, run("convert", "--model", src.toString(), "--out", sharded.toString(), "--max-shard-size", "20KB"),
                err.toString());
        assertTrue(Files.isRegularFile(sharded.resolve("model.safetensors.index.json")) && !Files.exists(sharded.resolve("model.safetensors")));
        Path logits = tmp.resolve("logits.safetensors");
        assertEquals(0, run("forward", "--model", sharded.toString(), "--input", src.resolve("input.safetensors").toString(), "--out",
                logits.toString()), err.toString());
        try (SafeTensorsFile e = SafeTensorsFile.open(src.resolve("expected.safetensors")); SafeTensorsFile g = SafeTensorsFile.open(logits)) {
            ModelCommandsTest.assertClose("logits of the sharded model", e.readFloatArray("logits"), g.readFloatArray("logits"), 1e-4);
        }
        // and back to one file: the bytes of converting the original directly
        assertEquals(0, run("convert", "--model", sharded.toString(), "--out", single.toString()), err.toString());
        assertEquals(0, run("convert", "--model", src.toString(), "--out", tmp.resolve("direct").toString()), err.toString());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("direct/model.safetensors")), Files.readAllBytes(single.resolve("model.safetensors")));
        assertEquals(0, run("convert", "--model", LLAMA.resolve("gqa_untied_sharded").toString(), "--out", tmp.resolve("llama").toString(),
                "--max-shard-size", "5000"), err.toString());
        for (String f : new String[] {"model.safetensors.index.json", "model-00007-of-00015.safetensors"}) {
            assertArrayEquals(Files.readAllBytes(LLAMA.resolve("gqa_untied_sharded").resolve(f)), Files.readAllBytes(tmp.resolve("llama").resolve(f)), f);
        }
    }

    @Test
    void aBadShardSizeOrABrokenShardIsOneLine() throws IOException {
        String e = oneLineError("convert", "--model", LLAVA.resolve("gqa_untied").toString(), "--out", tmp.resolve("x").toString(),
                "--max-shard-size", "5GiB");
        assertTrue(e.contains("--max-shard-size") && e.contains("shard size \"5GiB\" is not a size"), e);
        assertFalse(Files.exists(tmp.resolve("x")));
        Path broken = Files.createDirectory(tmp.resolve("broken"));
        try (var files = Files.list(LLAMA.resolve("gqa_untied_sharded"))) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, broken.resolve(f.getFileName()));
        }
        Files.delete(broken.resolve("model-00002-of-00015.safetensors"));
        e = oneLineError("convert", "--model", broken.toString(), "--out", tmp.resolve("y").toString());
        assertTrue(e.startsWith("aspo convert: " + broken.resolve("model-00002-of-00015.safetensors") + ": cannot open this shard")
                && e.contains("model.embed_tokens.weight") && e.contains("no such file"), e);
    }

    @Test
    void generatePrintsTransformersGreedyAnswer() throws IOException {
        Path dir = LLAVA.resolve("generate");
        JsonNode exp = new ObjectMapper().readTree(dir.resolve("generate.json").toFile());
        Path image = dir.resolve(exp.get("image").textValue());
        assertEquals(0, run("generate", "--model", dir.toString(), "--image", image.toString(), "--prompt",
                exp.get("prompt").textValue(), "--max-new-tokens", String.valueOf(exp.get("max_new_tokens").intValue())), err.toString());
        assertEquals(exp.get("answer").textValue() + "\n", out.toString());
    }

    /** With the weights in bfloat16 the greedy loop (prefill, then one-token decode steps) runs as in float32. */
    @Test
    void generateRunsWithBfloat16Weights() throws IOException {
        Path dir = LLAVA.resolve("generate");
        JsonNode exp = new ObjectMapper().readTree(dir.resolve("generate.json").toFile());
        assertEquals(0, run("generate", "--model", dir.toString(), "--image", dir.resolve(exp.get("image").textValue()).toString(),
                "--prompt", exp.get("prompt").textValue(), "--max-new-tokens", "4", "--dtype", "bfloat16"), err.toString());
        assertTrue(out.toString().endsWith("\n"), out.toString());
        assertEquals("", err.toString());
    }

    @Test
    void samplingIsReproducibleFromTheSeed() {
        Path dir = LLAVA.resolve("generate");
        String[] args = {"generate", "--model", dir.toString(), "--image", "../models/src/test/resources/clip/images/rgb_32x32.png",
                "--prompt", "Hi", "--max-new-tokens", "6", "--temperature", "0.9", "--top-p", "0.95", "--top-k", "50", "--seed", "3"};
        assertEquals(0, run(args), err.toString());
        String first = out.toString();
        out.getBuffer().setLength(0);
        assertEquals(0, run(args), err.toString());
        assertEquals(first, out.toString());
    }

    @Test
    void generateErrorsAreOneLine() throws IOException {
        Path dir = LLAVA.resolve("generate"), image = Path.of("../models/src/test/resources/clip/images/rgb_32x32.png");
        Path noTokenizer = tmp.resolve("notok");
        assertEquals(0, run("convert", "--model", dir.toString(), "--out", noTokenizer.toString()));
        assertTrue(oneLineError("generate", "--model", noTokenizer.toString(), "--image", image.toString(), "--prompt", "x")
                .contains("no tokenizer.json"));
        Files.copy(dir.resolve("tokenizer.json"), noTokenizer.resolve("tokenizer.json"));
        assertTrue(oneLineError("generate", "--model", noTokenizer.toString(), "--image", image.toString(), "--prompt", "x")
                .contains("no preprocessor_config.json"));
        assertTrue(oneLineError("generate", "--model", "../models/src/test/resources/llama/gqa_untied", "--image", image.toString(),
                "--prompt", "x").contains("is a llama model; generate answers about an image and needs a llava model"));
        assertTrue(oneLineError("generate", "--model", dir.toString(), "--image", image.toString(), "--prompt", "x", "--top-p", "0.5")
                .contains("--top-p applies to sampling only"));
        assertTrue(oneLineError("generate", "--model", dir.toString(), "--image", tmp.resolve("none.png").toString(), "--prompt", "x")
                .contains("none.png: no such file"));
        assertEquals("aspo generate: unknown device 'gpu': use cpu, opencl or opencl:P:D", oneLineError("generate", "--model",
                dir.toString(), "--image", image.toString(), "--prompt", "x", "--device", "gpu"));
        // a tokenizer whose <image> is not the model's image token
        Path other = tmp.resolve("other");
        assertEquals(0, run("convert", "--model", LLAVA.resolve("gqa_untied").toString(), "--out", other.toString()));
        Files.copy(dir.resolve("tokenizer.json"), other.resolve("tokenizer.json"));
        Files.copy(dir.resolve("preprocessor_config.json"), other.resolve("preprocessor_config.json"));
        assertTrue(oneLineError("generate", "--model", other.toString(), "--image", image.toString(), "--prompt", "x")
                .contains("maps <image> to id 589 but config.json's image_token_index is 63"));
    }
}
