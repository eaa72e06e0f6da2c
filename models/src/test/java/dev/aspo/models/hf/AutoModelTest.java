package dev.aspo.models.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model_type dispatch over the fixtures of the four model families, and the errors. */
class AutoModelTest {
    @TempDir
    Path tmp;

    static Path resource(String dir) {
        try {
            return Path.of(AutoModelTest.class.getResource("/" + dir + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void loadsTheClassTheModelTypeNamesAndSavesItBack() throws IOException {
        Object[][] cases = {{"llava/gqa_untied", LlavaForConditionalGeneration.class, "llava"},
                {"llama/gqa_untied", LlamaForCausalLM.class, "llama"}, {"clip/clip", ClipModel.class, "clip"},
                {"clip/clip_vision_model", ClipVisionModel.class, "clip_vision_model"}};
        for (Object[] c : cases) {
            Path dir = resource((String) c[0]);
            assertEquals(c[2], AutoModel.modelType(dir));
            Module m = AutoModel.load(dir);
            assertInstanceOf((Class<?>) c[1], m);
            assertEquals(c[2], AutoModel.modelType(m));
            Path out = tmp.resolve(((String) c[0]).replace('/', '_'));
            AutoModel.save(m, out);
            assertInstanceOf((Class<?>) c[1], AutoModel.load(out));
        }
    }

    @Test
    void anUnknownTypeOrAMissingConfigIsOneError() throws IOException {
        Path d = Files.createDirectory(tmp.resolve("m"));
        IOException e = assertThrows(IOException.class, () -> AutoModel.load(d));
        assertTrue(e.getMessage().contains("no config.json"), e.getMessage());
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"qwen2_vl\"}");
        e = assertThrows(IOException.class, () -> AutoModel.load(d));
        assertTrue(e.getMessage().contains("model_type \"qwen2_vl\" is not supported (supported: llava, llama, clip, clip_vision_model)"),
                e.getMessage());
        Files.writeString(d.resolve("config.json"), "{\"hidden_size\": 3}");
        e = assertThrows(IOException.class, () -> AutoModel.load(d));
        assertTrue(e.getMessage().contains("\"model_type\" is missing"), e.getMessage());
        e = assertThrows(IOException.class, () -> AutoModel.load(tmp.resolve("absent")));
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
    }
}
