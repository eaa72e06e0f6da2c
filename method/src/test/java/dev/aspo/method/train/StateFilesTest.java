package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files a run reads back: a crash's torn log line is repaired, anything else unreadable is named with what to do. */
class StateFilesTest {
    private static final Tokenizer TOK = Tiny.tokenizer();

    /** {@link Tiny#config} at lr 1e-2. */
    private static TrainConfig config(Path train, Path out, String... kv) {
        String[] withLr = new String[kv.length + 2];
        withLr[0] = "lr";
        withLr[1] = "1e-2";
        System.arraycopy(kv, 0, withLr, 2, kv.length);
        return Tiny.config(train, out, withLr);
    }

    private static Trainer dpo(TrainConfig cfg) {
        return new Trainer(Trainer.Mode.DPO, cfg, new LlamaPolicy(Tiny.model(TOK, 3)), new LlamaPolicy(Tiny.model(TOK, 3)), TOK, null,
                new PrintStream(new ByteArrayOutputStream()));
    }

    @Test
    void aMetricsLineTornByAFullDiskDoesNotBlockResume(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 2), a = dir.resolve("a"), b = dir.resolve("b");
        dpo(config(train, a, "max_steps", "5", "save_every", "2")).run(null);
        Trainer killed = dpo(config(train, b, "max_steps", "5", "save_every", "2"));
        killed.stopAfterStep = 3;
        assertThrows(TrainingLoop.Killed.class, () -> killed.run(null));
        Files.writeString(b.resolve(Trainer.METRICS), "{\"step\": 4, \"loss\": 0.69", StandardOpenOption.APPEND);   // the disk filled up

        assertEquals(5, dpo(config(train, b, "max_steps", "5", "save_every", "2")).run(b).steps());
        assertEquals(TrainerTest.metrics(a), TrainerTest.metrics(b));
    }

    @Test
    void aTornLineInTheMiddleOrADamagedTrainerStateIsNamedWithWhatToDo(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 2), out = dir.resolve("run");
        dpo(config(train, out, "max_steps", "2", "save_every", "1")).run(null);
        Path metrics = out.resolve(Trainer.METRICS);
        List<String> lines = Files.readAllLines(metrics);
        Files.write(metrics, List.of(lines.get(0).substring(0, 9), lines.get(1)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dpo(config(train, out, "max_steps", "3")).run(out));
        assertTrue(e.getMessage().startsWith(metrics + ":1: not valid JSON"), e.getMessage());
        assertTrue(!e.getMessage().contains("REDACTED") && e.getMessage().contains("remove that line"), e.getMessage());
        Files.write(metrics, lines);

        Path state = out.resolve("checkpoint-2").resolve(Checkpoints.STATE);
        Files.writeString(state, "{\"global_step\": 2, \"epo");
        e = assertThrows(IllegalArgumentException.class, () -> dpo(config(train, out, "max_steps", "3")).run(out));
        assertTrue(e.getMessage().startsWith(state + ": not valid JSON"), e.getMessage());
        assertTrue(e.getMessage().contains("move checkpoint-2 out of " + out), e.getMessage());
        Files.writeString(state, "{\"global_step\": 2}");
        e = assertThrows(IllegalArgumentException.class, () -> dpo(config(train, out, "max_steps", "3")).run(out));
        assertTrue(e.getMessage().startsWith(state + ": \"epoch\" is missing"), e.getMessage());
    }

    @Test
    void aDamagedReferenceCacheIsNamed(@TempDir Path dir) throws IOException {
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 4, 2), out = dir.resolve("run");
        dpo(config(train, out, "max_steps", "1")).run(null);
        Path cache;
        try (var s = Files.list(out.resolve("cache"))) {
            cache = s.filter(p -> p.getFileName().toString().startsWith("ref-logps-")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(cache);
        Files.write(cache, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dpo(config(train, out, "max_steps", "2")).run(out));
        assertTrue(e.getMessage().startsWith(cache + ": unreadable reference log-prob cache") && e.getMessage().contains("delete the file"),
                e.getMessage());
    }

    @Test
    void theSimilarityCacheSurvivesATornLastLineAndRefusesValuesThatAreNoCosine(@TempDir Path dir) throws IOException {
        ClipModel clip = ClipTest.tinyClip(5);
        MessageDigest md = Hashes.sha256();
        Hashes.update(md, clip);
        Path cache = Files.createDirectories(dir.resolve("cache")).resolve("clip-sim-" + Hashes.hex(md) + ".jsonl");
        ClipImageProcessor processor = ClipImageProcessor.clip(16);

        Files.writeString(cache, "{\"key\": \"k1\", \"s\": [0.25, -0.5]}\n{\"key\": \"k2\", \"s\": [0.");
        new ClipSimilarity(clip, TOK, processor, cache.getParent());
        assertEquals("{\"key\": \"k1\", \"s\": [0.25, -0.5]}\n", Files.readString(cache));   // the next append starts a line

        Files.writeString(cache, "{\"key\": \"k1\", \"s\": [0.25, 7.5]}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ClipSimilarity(clip, TOK, processor, cache.getParent()));
        assertTrue(e.getMessage().startsWith(cache + ": entry 1 holds 7.5, not a cosine similarity in [-1, 1]")
                && e.getMessage().contains("delete the file"), e.getMessage());

        Files.writeString(cache, "{\"key\": \"k1\", \"s\": [0.2\n{\"key\": \"k2\", \"s\": [0.1]}\n");
        e = assertThrows(IllegalArgumentException.class, () -> new ClipSimilarity(clip, TOK, processor, cache.getParent()));
        assertTrue(e.getMessage().startsWith(cache + ":1: not valid JSON"), e.getMessage());
    }
}
