package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.cli.Main;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code aspo train ...} end to end through the command line, on saved tiny models. */
class TrainCliTest {
    private static final Tokenizer TOK = Tiny.tokenizer();
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void aspoRunFromYamlWithFlagsThenResume(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("policy"), clip = dir.resolve("clip");
        Tiny.model(TOK, 4).save(model);
        TOK.save(model.resolve("tokenizer.json"));
        ClipTest.tinyClip(5).save(clip);
        TOK.save(clip.resolve("tokenizer.json"));
        ClipImageProcessor.clip(16).save(clip);
        ClipTest.captions(dir, 4);   // img/0..3.png
        Path prefs = Tiny.preferenceFile(dir, "plain.jsonl", 6, 9);
        List<String> lines = new ArrayList<>();
        int i = 0;
        for (String l : Files.readAllLines(prefs)) lines.add("{\"images\": [\"img/" + (i++ % 4) + ".png\"], " + l.substring(1));
        Path train = dir.resolve("train.jsonl");
        Files.write(train, lines);
        Path yaml = dir.resolve("run.yaml");
        Files.writeString(yaml, "model: " + model + "\ntrain_file: " + train + "\neval_file: " + train + "\nclip_model: " + clip
                + "\nbatch_size: 4\nlr: 1.0e-3\nprogress: lines\nlog_every: 2\n");
        Path outDir = dir.resolve("run");

        assertEquals(0, run("train", "aspo", "--config", yaml.toString(), "--output-dir", outDir.toString(), "--max_steps", "4",
                "--batch_size=2", "--save-every", "2", "--eval_every", "2"), err.toString());
        assertTrue(out.toString().contains("trained 4 steps"), out.toString());
        List<ObjectNode> m = TrainerTest.metrics(outDir);
        assertEquals(4, m.size());   // steps 2 and 4, each with an eval line
        assertEquals(2, m.get(0).get("step").asInt());
        assertTrue(m.get(1).has("eval_loss") && m.get(1).has("eval_rewards/margins"), m.get(1).toString());
        assertTrue(m.get(0).has("aspo/weight_std"));
        assertTrue(Files.isDirectory(outDir.resolve("checkpoint-2")) && Files.isDirectory(outDir.resolve("checkpoint-4")));
        assertTrue(Files.isRegularFile(outDir.resolve("checkpoint-4/config.json")));
        assertTrue(Files.isRegularFile(outDir.resolve("checkpoint-4/optimizer.safetensors")));
        assertTrue(Files.isRegularFile(outDir.resolve("checkpoint-4/tokenizer.json")));
        try (var s = Files.list(outDir.resolve("cache"))) {
            assertEquals(2, s.filter(p -> p.getFileName().toString().matches("(ref-logps-.*\\.safetensors|clip-sim-.*\\.jsonl)")).count());
        }

        // resume the finished run with more steps: it continues from checkpoint-4 with the saved settings
        out.getBuffer().setLength(0);
        assertEquals(0, run("train", "aspo", "--resume", outDir.toString(), "--max_steps", "6"), err.toString());
        assertTrue(out.toString().contains("trained 6 steps"), out.toString());
        assertTrue(Files.isDirectory(outDir.resolve("checkpoint-6")));
    }

    @Test
    void dpoWithALoraBlockAndGradientCheckpointingThenResume(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("policy");
        Tiny.model(TOK, 4).save(model);
        TOK.save(model.resolve("tokenizer.json"));
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 9);
        Path yaml = dir.resolve("run.yaml");
        Files.writeString(yaml, "model: " + model + "\ntrain_file: " + train + "\nbatch_size: 2\nlr: 1.0e-2\nprogress: none\n"
                + "gradient_checkpointing: true\nsave_every: 2\nlora:\n  r: 4\n  lora_alpha: 8\n  lora_dropout: 0.1\n"
                + "  target_modules: [q_proj, v_proj]\n");
        Path outDir = dir.resolve("run");
        assertEquals(0, run("train", "dpo", "--config", yaml.toString(), "--output_dir", outDir.toString(), "--max_steps", "2"),
                err.toString());
        assertTrue(Files.isRegularFile(outDir.resolve("checkpoint-2/adapter_model.safetensors")));
        assertTrue(Files.readString(outDir.resolve(Trainer.CONFIG)).contains("\"lora\" : {"), "the settings keep the block");
        assertEquals(0, run("train", "dpo", "--resume", outDir.toString(), "--max_steps", "4"), err.toString());
        assertTrue(Files.isRegularFile(outDir.resolve("checkpoint-4/adapter_config.json")));
        assertEquals(4, TrainerTest.metrics(outDir).size());

        assertEquals(1, run("train", "dpo", "--config", yaml.toString(), "--output_dir", dir.resolve("bad").toString(),
                "--lora.lora_dropout", "1.5"));
        assertEquals("aspo train: lora.lora_dropout must be in [0, 1), got 1.5", err.toString().trim());
    }

    @Test
    void badInputIsOneLineAndNonZero(@TempDir Path dir) throws IOException {
        assertEquals(1, run("train", "dpo", "--max_steps", "1"));
        assertTrue(err.toString().trim().startsWith("aspo train: config key model is required"), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(1, run("train", "dpo", "--learning-rate", "1"));
        assertTrue(err.toString().contains("unknown config key learning_rate"), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(1, run("train", "ppo", "--model", "x"));
        assertTrue(err.toString().contains("unknown mode \"ppo\""), err.toString());
        err.getBuffer().setLength(0);
        Path model = dir.resolve("policy");
        Tiny.model(TOK, 4).save(model);
        TOK.save(model.resolve("tokenizer.json"));
        Path train = Tiny.preferenceFile(dir, "t.jsonl", 2, 1);
        assertEquals(1, run("train", "aspo", "--model", model.toString(), "--train_file", train.toString(), "--output_dir",
                dir.resolve("o").toString()));
        assertTrue(err.toString().contains("needs image-text similarities: set clip_model (or alpha 0)"), err.toString());
        assertEquals(1, err.toString().trim().lines().count());
    }
}
