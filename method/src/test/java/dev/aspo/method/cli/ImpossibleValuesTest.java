package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipConfig;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipTextConfig;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.models.tokenizer.TokenizerFormatException;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.LongTensor;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Values that cannot be right are refused, naming the file and the key; nothing ends in exit 0 with NaN results. */
class ImpossibleValuesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private static LlamaConfig tinyLlama() {
        return LlamaConfig.builder().vocabSize(40).hiddenSize(16).intermediateSize(24).numHiddenLayers(1).numAttentionHeads(4)
                .numKeyValueHeads(2).build();
    }

    @Test
    void forwardWithNanWeightsOrNanPixelsFailsNamingTheTensor(@TempDir Path dir) throws IOException {
        LlamaForCausalLM llama = LlamaForCausalLM.random(tinyLlama(), 1);
        Tensor w = llama.namedParameters().get("model.norm.weight");
        float[] v = w.toFloatArray();
        v[3] = Float.NaN;
        llama.copyFrom("model.norm.weight", Tensor.of(v, w.shape()));
        Path model = dir.resolve("llama");
        llama.save(model);
        Path in = dir.resolve("in.safetensors"), o = dir.resolve("out.safetensors");
        new SafeTensorsWriter().putLong("input_ids", new LongTensor(new long[] {1, 2, 3}, 1, 3)).write(in);
        assertEquals(1, run("forward", "--model", model.toString(), "--input", in.toString(), "--out", o.toString()));
        assertTrue(err.toString().contains("tensor model.norm.weight holds 1 non-finite value (NaN at flat index 3)"), err.toString());
        assertFalse(Files.exists(o));

        ClipConfig c = ClipConfig.of(ClipTextConfig.of(40, 16, 24, 1, 2, 32, ClipActivation.QUICK_GELU, 39),
                ClipVisionConfig.of(12, 20, 1, 2, 16, 8, ClipActivation.QUICK_GELU), 8);
        Path clip = dir.resolve("clip");
        ClipModel.random(c, 1).save(clip);
        float[] px = new float[3 * 16 * 16];
        px[5] = Float.NaN;
        Path pixels = dir.resolve("px.safetensors");
        new SafeTensorsWriter().put("pixel_values", Tensor.of(px, 1, 3, 16, 16)).write(pixels);
        err.getBuffer().setLength(0);
        assertEquals(1, run("forward", "--model", clip.toString(), "--input", pixels.toString(), "--out", o.toString()));
        assertTrue(err.toString().contains(pixels + ": pixel_values holds NaN at flat index 5"), err.toString());
    }

    @Test
    void modelConfigsWithImpossibleIdsOrPositionsAreRefused(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("llama");
        LlamaForCausalLM.random(tinyLlama(), 1).save(model);
        Path config = model.resolve("config.json");
        ObjectNode good = (ObjectNode) JSON.readTree(config.toFile());
        for (var bad : Map.of("eos_token_id", 40, "bos_token_id", -3, "max_position_embeddings", 1).entrySet()) {
            ObjectNode c = good.deepCopy();
            c.put(bad.getKey(), bad.getValue());
            Files.writeString(config, c.toString());
            Exception e = assertThrows(Exception.class, () -> AutoModel.load(model), bad.getKey());
            assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains("\"" + bad.getKey() + "\""), e.getMessage());
        }
        Files.writeString(config, good.toString().replaceFirst("\\{", "{\"vocab_size\": 41, "));   // the key twice
        IOException e = assertThrows(IOException.class, () -> AutoModel.load(model));
        assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains("vocab_size"), e.getMessage());
    }

    @Test
    void aTokenizerGivingOneIdToTwoTokensIsRefused() {
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromJson(
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 1}, \"merges\": []}}", "tok.json"));
        assertTrue(e.getMessage().contains("tok.json") && e.getMessage().contains("id 1 is given to both"), e.getMessage());
    }

    @Test
    void trainingSettingsAndRecordsWithImpossibleOrRepeatedValuesAreRefused(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.of(Map.of("max_grad_norm", "-1")));
        assertTrue(e.getMessage().startsWith("max_grad_norm must be a finite number >= 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.of(Map.of("adam_beta2", "1.5")));

        Path yaml = Files.writeString(dir.resolve("run.yaml"), "lr: 1e-3\nbatch_size: 4\nlr: 1e-2\n");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(yaml, Map.of()));
        assertTrue(e.getMessage().startsWith(yaml + ": not valid YAML: ") && e.getMessage().contains("lr"), e.getMessage());
        Path json = Files.writeString(dir.resolve("run.json"), "{\"lr\": 1e-3, \"lr\": 1e-2}");
        e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(json, Map.of()));
        assertTrue(e.getMessage().startsWith(json + ": not valid JSON: ") && e.getMessage().contains("lr"), e.getMessage());

        Path data = Files.writeString(dir.resolve("d.jsonl"), "{\"prompt\": \"p\", \"response\": \"A.\", \"response\": \"B.\"}\n");
        DatasetException d = assertThrows(DatasetException.class, () -> Dataset.load(data, Dataset.Kind.SFT, false));
        assertTrue(d.getMessage().startsWith(data + ":1: not valid JSON") && d.getMessage().contains("response"), d.getMessage());
    }
}
