package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Batch;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.tokenizer.BpeTrainer;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainers on a tiny LLaVA: image tokens in the prompt, images through the vision tower. */
class LlavaTrainTest {
    static final Tokenizer TOK = new BpeTrainer(300, 2, List.of("<bos>", "<eos>", "<image>")).withBosToken("<bos>")
            .train(Tiny.CORPUS);

    static LlavaPolicy tinyLlava(long seed) {
        LlamaConfig text = LlamaConfig.builder().vocabSize(TOK.vocabSize()).hiddenSize(16).intermediateSize(32).numHiddenLayers(1)
                .numAttentionHeads(2).numKeyValueHeads(1).maxPositionEmbeddings(128).bosTokenId(TOK.tokenToId("<bos>"))
                .eosTokenIds(TOK.tokenToId("<eos>")).initializerRange(0.1).build();
        ClipVisionConfig vision = ClipVisionConfig.of(12, 20, 2, 2, 16, 8, ClipActivation.QUICK_GELU);
        LlavaConfig c = LlavaConfig.builder(vision, text).imageTokenIndex(TOK.tokenToId("<image>")).visionFeatureLayer(-1).build();
        return new LlavaPolicy(LlavaForConditionalGeneration.random(c, seed), ClipImageProcessor.clip(16));
    }

    @Test
    void promptsGetOneImageTokenPerFeature() {
        LlavaPolicy p = tinyLlava(1);
        int f = p.model().featuresPerImage();
        assertEquals(4, f);
        assertEquals("<image>".repeat(f) + "\nDescribe.", p.promptText("Describe.", 1));
        assertEquals("A " + "<image>".repeat(f) + " B", p.promptText("A <image> B", 1));
        assertEquals("Describe.", p.promptText("Describe.", 0));
        assertThrows(IllegalArgumentException.class, () -> p.promptText("<image> <image>", 1));
        int[] ids = TOK.encode(p.promptText("Describe.", 1), true).ids();
        assertEquals(f, Arrays.stream(ids).filter(id -> id == TOK.tokenToId("<image>")).count());
    }

    @Test
    void dpoOnImagesWithCachedReferenceEqualToFrozenAndExactResume(@TempDir Path dir) throws IOException {
        ClipTest.captions(dir, 4);   // img/0..3.png, one colour each
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(Tiny.preferenceFile(dir, "plain.jsonl", 6, 3))) {
            lines.add("{\"images\": [\"img/" + (lines.size() % 4) + ".png\"], " + l.substring(1));
        }
        Path train = dir.resolve("train.jsonl");
        Files.write(train, lines);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Map<String, List<ObjectNode>> runs = new LinkedHashMap<>();
        for (String run : new String[] {"frozen", "cached", "killed"}) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("train_file", train.toString());
            o.put("output_dir", dir.resolve(run).toString());
            o.put("batch_size", "2");
            o.put("max_steps", "4");
            o.put("save_every", "2");
            o.put("lr", "1e-2");
            o.put("progress", "none");
            o.put("reference_mode", run.equals("frozen") ? "frozen" : "cached");
            Trainer t = new Trainer(Trainer.Mode.DPO, TrainConfig.of(o), tinyLlava(5), tinyLlava(5), TOK, null, quiet);
            if (run.equals("killed")) {
                t.stopAfterStep = 3;
                assertThrows(TrainingLoop.Killed.class, () -> t.run(null));
                new Trainer(Trainer.Mode.DPO, TrainConfig.of(o), tinyLlava(9), tinyLlava(5), TOK, null, quiet).run(dir.resolve(run));
            } else {
                t.run(null);
            }
            runs.put(run, TrainerTest.metrics(dir.resolve(run)));
        }
        assertEquals(4, runs.get("frozen").size());
        assertEquals(runs.get("frozen"), runs.get("cached"));
        assertEquals(runs.get("cached"), runs.get("killed"));
        assertTrue(Files.isRegularFile(dir.resolve("cached/checkpoint-4/preprocessor_config.json")));
        LlavaPolicy reloaded = LlavaPolicy.load(dir.resolve("cached/checkpoint-4"));
        assertEquals(tinyLlava(5).model().parameterCount(), reloaded.model().parameterCount());
    }

    @Test
    void theImageChangesTheLogProbs(@TempDir Path dir) throws IOException {
        ClipTest.captions(dir, 2);
        LlavaPolicy p = tinyLlava(2);
        Sequence s = new SequenceEncoder(TOK, p.eosId(), 64).encode(p.promptText("Describe.", 1), "A red cube.", "f:1");
        FrozenReference ref = new FrozenReference(p);
        float[] a = ref.logps(new Batch(List.of(s), p.padId(), List.of(List.of(dir.resolve("img/0.png")))), null);
        float[] b = ref.logps(new Batch(List.of(s), p.padId(), List.of(List.of(dir.resolve("img/1.png")))), null);
        assertFalse(Arrays.equals(a, b));
        DatasetException e = assertThrows(DatasetException.class,
                () -> ref.logps(new Batch(List.of(s), p.padId(), List.of(List.of(dir.resolve("img/none.png")))), null));
        assertTrue(e.getMessage().contains("none.png"), e.getMessage());
    }

    @Test
    void loraWithDropoutAndGradientCheckpointingOnLlavaResumesBitForBit(@TempDir Path dir) throws IOException {
        ClipTest.captions(dir, 4);
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(Tiny.preferenceFile(dir, "plain.jsonl", 6, 3))) {
            lines.add("{\"images\": [\"img/" + (lines.size() % 4) + ".png\"], " + l.substring(1));
        }
        Path train = dir.resolve("train.jsonl");
        Files.write(train, lines);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        Map<String, List<ObjectNode>> runs = new LinkedHashMap<>();
        for (String run : new String[] {"plain", "checkpointed", "killed"}) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("train_file", train.toString());
            o.put("output_dir", dir.resolve(run).toString());
            o.put("batch_size", "2");
            o.put("max_steps", "4");
            o.put("save_every", "2");
            o.put("lr", "1e-2");
            o.put("progress", "none");
            o.put("reference_mode", "frozen");
            // adapters in the vision tower, the projector and the language model
            o.put("lora.target_modules", "[\"q_proj\", \"fc1\", \"linear_1\", \"down_proj\"]");
            o.put("lora.lora_dropout", "0.2");
            o.put("gradient_checkpointing", String.valueOf(!run.equals("plain")));
            Trainer t = new Trainer(Trainer.Mode.DPO, TrainConfig.of(o), tinyLlava(5), null, TOK, null, quiet);
            if (run.equals("killed")) {
                t.stopAfterStep = 3;
                assertThrows(TrainingLoop.Killed.class, () -> t.run(null));
                new Trainer(Trainer.Mode.DPO, TrainConfig.of(o), tinyLlava(5), null, TOK, null, quiet).run(dir.resolve(run));
            } else {
                t.run(null);
            }
            runs.put(run, TrainerTest.metrics(dir.resolve(run)));
        }
        assertEquals(4, runs.get("plain").size());
        assertEquals(runs.get("plain"), runs.get("checkpointed"));
        assertEquals(runs.get("plain"), runs.get("killed"));
        for (String run : new String[] {"checkpointed", "killed"}) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("plain/checkpoint-4/adapter_model.safetensors")),
                    Files.readAllBytes(dir.resolve(run + "/checkpoint-4/adapter_model.safetensors")), run);
        }
    }
}
