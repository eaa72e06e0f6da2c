package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's output folder: never two runs in one, and nothing left behind by a crash. */
class RunDirectoryTest {
    private static final Tokenizer TOK = Tiny.tokenizer();

    private static TrainConfig config(Path train, Path out, String... kv) {
        return Tiny.config(train, out, kv);
    }

    private static Trainer.Result sft(TrainConfig cfg, Path resume) throws IOException {
        return new Trainer(Trainer.Mode.SFT, cfg, new LlamaPolicy(Tiny.model(TOK, 1)), null, TOK, null,
                new PrintStream(new ByteArrayOutputStream())).run(resume);
    }

    private static Path sftFile(Path dir) throws IOException {
        Path f = dir.resolve("sft.jsonl");
        Files.write(f, List.of("{\"prompt\": \"Describe the cube.\", \"response\": \"A red cube.\"}",
                "{\"prompt\": \"Describe the ball.\", \"response\": \"A blue ball.\"}"));
        return f;
    }

    @Test
    void aNewRunIntoAFolderHoldingARunIsRefusedNamingResume(@TempDir Path dir) throws IOException {
        Path train = sftFile(dir), out = dir.resolve("run");
        sft(config(train, out, "max_steps", "4", "save_every", "2"), null);
        List<String> before = Files.readAllLines(out.resolve(Trainer.METRICS));
        assertEquals(4, before.size());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sft(config(train, out, "max_steps", "2", "seed", "7"), null));
        assertTrue(e.getMessage().contains(out + " already holds a training run (checkpoint-2, checkpoint-4, metrics.jsonl)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("--resume " + out) && e.getMessage().contains("--overwrite_output_dir true"), e.getMessage());
        assertEquals(before, Files.readAllLines(out.resolve(Trainer.METRICS)));   // nothing of the old run touched

        // resuming another run into it mixes the two as well
        Path other = dir.resolve("other");
        sft(config(train, other, "max_steps", "2"), null);
        assertThrows(IllegalArgumentException.class, () -> sft(config(train, out, "max_steps", "3"), other));

        // starting over is explicit: the old checkpoints and metrics go, the new run's are alone
        sft(config(train, out, "max_steps", "2", "overwrite_output_dir", "true"), null);
        assertEquals(2, Files.readAllLines(out.resolve(Trainer.METRICS)).size());
        assertFalse(Files.exists(out.resolve("checkpoint-4")));
        assertEquals(out.resolve("checkpoint-2"), Trainer.latestCheckpoint(out));
        // and the saved settings do not carry the deletion into a later run
        assertEquals("false", TrainConfig.load(out.resolve(Trainer.CONFIG), Map.of()).str("overwrite_output_dir"));
    }

    @Test
    void resumeNeedsAFolderThatHoldsARun(@TempDir Path dir) throws IOException {
        Path train = sftFile(dir), empty = Files.createDirectories(dir.resolve("empty"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sft(config(train, empty, "max_steps", "1"), empty));
        assertTrue(e.getMessage().startsWith("--resume " + empty + ": not a training run"), e.getMessage());
    }

    @Test
    void leftoversOfAKilledWriteAreRemovedWhenTheRunStartsAgain(@TempDir Path dir) throws IOException {
        Path train = sftFile(dir), out = dir.resolve("run");
        sft(config(train, out, "max_steps", "2", "save_every", "1"), null);
        // what kill -9 leaves in the middle of a checkpoint, a model save and a cache write
        Path ckpt = Files.createDirectories(out.resolve(".checkpoint-3.tmp"));
        Files.writeString(ckpt.resolve("model.safetensors"), "half");
        Files.createDirectories(out.resolve(".checkpoint-3.5f3a9c.tmp"));
        Path cache = Files.createDirectories(out.resolve("cache"));
        Path cacheTmp = Files.writeString(cache.resolve(".ref-logps-abc.safetensors.77aa.tmp"), "half");
        Path shared = Files.createDirectories(dir.resolve("shared-cache"));
        Path fresh = Files.writeString(shared.resolve(".clip-sim-x.jsonl.12.tmp"), "another run may be writing this");
        Path old = Files.writeString(shared.resolve(".clip-sim-y.jsonl.34.tmp"), "half");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()
                - RunDirectory.FOREIGN_LEFTOVER_AGE.toMillis() - 60_000));
        Path users = Files.writeString(out.resolve("notes.tmp"), "not ours");

        sft(config(train, out, "max_steps", "3", "cache_dir", shared.toString()), out);
        assertFalse(Files.exists(ckpt) || Files.exists(out.resolve(".checkpoint-3.5f3a9c.tmp")), "checkpoint leftovers");
        assertFalse(Files.exists(old), "an old leftover in a shared cache");
        assertTrue(Files.exists(fresh), "a shared cache's recent temporary file may be another run's write in progress");
        assertTrue(Files.exists(users));
        assertTrue(Files.isDirectory(out.resolve("checkpoint-3")));

        sft(config(train, out, "max_steps", "4"), out);   // the default cache folder is the run's own
        assertFalse(Files.exists(cacheTmp));
    }

    @Test
    void everyFileOfACheckpointGetsTheSamePermissions(@TempDir Path dir) throws IOException {
        Path ckpt = Files.createDirectories(dir.resolve("ckpt"));
        ClipImageProcessor.clip(16).save(ckpt);
        Path plain = Files.writeString(ckpt.resolve("plain.json"), "{}");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(ckpt.resolve("preprocessor_config.json")));
    }
}
