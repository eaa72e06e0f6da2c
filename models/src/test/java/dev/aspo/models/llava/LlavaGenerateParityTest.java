package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.models.generate.Sampler;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code generate} fixture: transformers' LlavaProcessor (chat template, image-token
 * expansion, tokenizer, CLIPImageProcessorPil) and greedy {@code generate} against ours.
 */
class LlavaGenerateParityTest {
    static LlavaForConditionalGeneration model;
    static JsonNode expected;
    static Path dir;

    @BeforeAll
    static void load() throws Exception {
        dir = LlavaFixtures.dir("generate");
        model = LlavaForConditionalGeneration.load(dir);
        expected = new ObjectMapper().readTree(dir.resolve("generate.json").toFile());
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).intValue();
        return out;
    }

    @Test
    void processorMakesTransformersPromptIdsAndPixels() throws Exception {
        LlavaProcessor p = LlavaProcessor.load(dir, model.config);
        String prompt = LlavaProcessor.chatPrompt(expected.get("prompt").textValue());
        assertEquals(expected.get("prompt_text").textValue(), prompt);
        assertArrayEquals(ints(expected.get("input_ids")), p.encode(prompt));
        Tensor px = p.pixelValues(List.of(dir.resolve(expected.get("image").textValue())));
        try (SafeTensorsFile f = LlavaFixtures.expected("generate")) {
            assertArrayEquals(f.readFloatArray("gen.pixel_values"), px.toFloatArray(), "pixel values, bit for bit");
        }
        assertEquals(expected.get("answer").textValue(), p.decode(ints(expected.get("output_ids"))));
    }

    @Test
    void greedySinglePromptMatchesTransformers() throws Exception {
        try (SafeTensorsFile f = LlavaFixtures.expected("generate")) {
            int[] prompt = LlavaFixtures.ints(f, "gen.input_ids");
            int n = expected.get("max_new_tokens").intValue();
            List<int[]> out = model.generate(List.of(prompt), f.readFloat("gen.pixel_values"), Sampler.greedy(), n, new int[] {2}, 0);
            assertArrayEquals(LlavaFixtures.ints(f, "gen.output_ids"), out.get(0));
        }
    }

    @Test
    void greedyLeftPaddedBatchMatchesTransformers() throws Exception {
        try (SafeTensorsFile f = LlavaFixtures.expected("generate")) {
            int[] shape = f.info("gen.batch.input_ids").shape();
            int b = shape[0], t = shape[1];
            int[] ids = LlavaFixtures.ints(f, "gen.batch.input_ids"), mask = LlavaFixtures.ints(f, "gen.batch.attention_mask");
            List<int[]> prompts = new ArrayList<>();
            for (int r = 0; r < b; r++) {
                int first = 0;
                while (mask[r * t + first] == 0) first++;
                prompts.add(Arrays.copyOfRange(ids, r * t + first, (r + 1) * t));
            }
            int n = expected.get("max_new_tokens").intValue();
            List<int[]> out = model.generate(prompts, f.readFloat("gen.batch.pixel_values"), Sampler.greedy(), n, new int[] {2}, 0);
            int[] want = LlavaFixtures.ints(f, "gen.batch.output_ids");
            for (int r = 0; r < b; r++) assertArrayEquals(Arrays.copyOfRange(want, r * n, (r + 1) * n), out.get(r), "row " + r);
        }
    }
}
