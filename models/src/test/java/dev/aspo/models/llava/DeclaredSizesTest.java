package dev.aspo.models.llava;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.generate.Generator;
import dev.aspo.models.generate.Sampler;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.models.tokenizer.TokenizerFormatException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small file that declares a huge size is refused, naming the file and the key, before anything
 * of that size is allocated or computed: a layer count, a hidden size, a vocabulary id, an
 * image's pixels, a generation length. (Each case once took minutes and ended out of memory.)
 */
class DeclaredSizesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path withConfigKey(Path dir, String key, Object value) throws IOException {
        Path config = dir.resolve("config.json");
        ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
        if (value == null) root.remove(key);
        else root.set(key, JSON.valueToTree(value));
        Files.writeString(config, root.toString());
        return config;
    }

    @Test
    void aLlamaConfigThatNeedsMoreWeightsThanTheFileHoldsIsRefusedNamingTheKeys(@TempDir Path dir) throws IOException {
        LlamaConfig c = LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(24).numHiddenLayers(2)
                .numAttentionHeads(4).numKeyValueHeads(2).build();
        for (var bad : List.of(new Object[] {"num_hidden_layers", 100_000_000}, new Object[] {"hidden_size", 1 << 20},
                new Object[] {"vocab_size", 1 << 30})) {
            Path model = dir.resolve("m-" + bad[0]);
            LlamaForCausalLM.random(c, 1).save(model);
            Path config = withConfigKey(model, (String) bad[0], bad[1]);
            IOException e = assertThrows(IOException.class, () -> LlamaForCausalLM.load(model));
            assertTrue(e.getMessage().startsWith(config + ": ") && e.getMessage().contains(bad[0] + " " + bad[1])
                    && e.getMessage().contains("does not describe this checkpoint"), e.getMessage());
        }
    }

    @Test
    void aLlavaConfigWithoutTextConfigDoesNotSilentlyBecomeSevenBillionParameters(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("llava");
        LlavaForConditionalGeneration.random(LlavaConfigTest.tiny().build(), 1).save(model);
        Path config = withConfigKey(model, "text_config", null);
        IOException e = assertThrows(IOException.class, () -> LlavaForConditionalGeneration.load(model));
        assertTrue(e.getMessage().startsWith(config + ": text_config (absent"), e.getMessage());

        // an image size whose position table alone would take gigabytes
        Path wide = dir.resolve("wide");
        LlavaForConditionalGeneration.random(LlavaConfigTest.tiny().build(), 1).save(wide);
        ObjectNode root = (ObjectNode) JSON.readTree(wide.resolve("config.json").toFile());
        ((ObjectNode) root.get("vision_config")).put("image_size", 1 << 20);
        Files.writeString(wide.resolve("config.json"), root.toString());
        e = assertThrows(IOException.class, () -> LlavaForConditionalGeneration.load(wide));
        assertTrue(e.getMessage().contains("image_size 1048576, patch_size 8"), e.getMessage());
    }

    @Test
    void aTokenizerIdFarBeyondItsVocabularyIsRefused() {
        String json = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2000000000}, \"merges\": []}}";
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromJson(json, "tok.json"));
        assertTrue(e.getMessage().contains("tok.json") && e.getMessage().contains("id 2000000000 of \"c\""), e.getMessage());
    }

    @Test
    void anImageWhoseHeaderDeclaresTooManyPixelsIsRefusedBeforeDecoding(@TempDir Path dir) throws IOException {
        Path png = dir.resolve("huge.png");
        ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
        byte[] b = Files.readAllBytes(png);
        ByteBuffer.wrap(b).putInt(16, 20000).putInt(20, 20000);   // IHDR width, height
        CRC32 crc = new CRC32();
        crc.update(b, 12, 17);                                    // chunk type + 13 data bytes
        ByteBuffer.wrap(b).putInt(29, (int) crc.getValue());
        Files.write(png, b);
        IOException e = assertThrows(IOException.class, () -> RgbImage.read(png));
        assertTrue(e.getMessage().startsWith(png + ": declares 20000x20000 pixels"), e.getMessage());
    }

    @Test
    void generationDoesNotRunPastTheModelsPositions() {
        LlamaConfig c = LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(24).numHiddenLayers(1)
                .numAttentionHeads(4).numKeyValueHeads(2).maxPositionEmbeddings(32).build();
        Generator g = new Generator(LlamaForCausalLM.random(c, 1), Sampler.greedy(), 100_000, new int[0], 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.generate(List.of(new int[] {1, 2, 3})));
        assertTrue(e.getMessage().contains("max_position_embeddings 32") && e.getMessage().contains("at most 29 new tokens"),
                e.getMessage());
    }
}
