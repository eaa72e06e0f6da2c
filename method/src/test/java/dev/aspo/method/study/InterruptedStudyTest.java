package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's promise: an interrupted study continues where it stopped and ends with the same
 * results as one that was not interrupted there.
 *
 * <p>CLIP and SFT are most of a study's time, and an SFT model trained for much less than
 * {@code smoke}'s 500 steps answers the clean and the noised image alike (no SeVa pairs). So one
 * study is stopped once SFT is done, copied, and both copies go on from there: one straight to the
 * end, the other stopped twice more (before the pairs and between two preference runs) and
 * continued. The later stages run at a scale below {@code smoke}; the test costs about one smoke
 * study.
 */
class InterruptedStudyTest {
    /** {@code smoke}'s world, CLIP and SFT (enough for SeVa pairs); fewer pairs, steps and held-out scenes after them. */
    static final StudyScale TINY = StudyScale.SMOKE.with("eval_scenes", "16").with("val_scenes", "16").with("pair_scenes", "32")
            .with("pref_steps", "6").with("pref_batch", "4").with("pope_scenes", "8");

    /** Thrown by the log when the study announces the stage it is to be stopped at: a kill between stages. */
    static final class Interrupt extends RuntimeException {
        Interrupt(String stage) {
            super("interrupted before " + stage);
        }
    }

    /** A log that throws once the study starts {@code stage} (its "NAME ..." line), before the stage does anything. */
    static PrintStream stoppingAt(String stage) {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        String announcement = "] " + stage + " ...";
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                seen.write(b);
                if (b == '\n' && seen.toString(StandardCharsets.UTF_8).contains(announcement)) throw new Interrupt(stage);
            }
        }, true, StandardCharsets.UTF_8);
    }

    static PrintStream silent() {
        return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    }

    /** results.json without its wall time (the only field that may differ between two runs). */
    static ObjectNode results(Path json) throws Exception {
        ObjectNode n = (ObjectNode) new ObjectMapper().readTree(json.toFile());
        assertTrue(n.has("wall_seconds"), json + " has no wall_seconds");
        n.remove("wall_seconds");
        return n;
    }

    @Test
    void anInterruptedStudyContinuesWhereItStoppedWithIdenticalResults(@TempDir Path dir) throws Exception {
        Path interrupted = dir.resolve("interrupted"), straight = dir.resolve("straight");
        stop(interrupted, "pairs");
        copy(interrupted, straight);
        ObjectNode expected = results(new Reproduction(TINY, 1, straight, silent()).run());

        stop(interrupted, "pairs");           // a second stop at the same place changes nothing
        stop(interrupted, "train-aspo_s");    // between two preference runs
        Path sftMarker = Reproduction.seedDir(interrupted, 1).resolve(".stages/sft.json");
        String sftDone = Files.readString(sftMarker);

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ObjectNode continued = results(new Reproduction(TINY, 1, interrupted, new PrintStream(log, true, StandardCharsets.UTF_8)).run());
        String text = log.toString(StandardCharsets.UTF_8);
        // it continued: the finished stages were skipped (their markers untouched), the rest ran
        assertFalse(text.contains("] sft ..."), text);
        assertFalse(text.contains("] pairs ..."), text);
        assertFalse(text.contains("] train-dpo ..."), text);
        assertTrue(text.contains("] train-aspo_s ...") && text.contains("] eval-aspo_inverse ..."), text);
        assertEquals(sftDone, Files.readString(sftMarker));
        assertEquals(expected, continued);
    }

    /** Runs (or continues) the study in {@code out} and stops it as {@code stage} is about to start. */
    private static void stop(Path out, String stage) {
        Interrupt stopped = assertThrows(Interrupt.class, () -> new Reproduction(TINY, 1, out, stoppingAt(stage)).run());
        assertEquals("interrupted before " + stage, stopped.getMessage());
        assertFalse(Files.exists(Reproduction.seedDir(out, 1).resolve(".stages/" + stage + ".json")), stage + " must not be marked done");
        assertFalse(Files.exists(out.resolve("results.json")), "no report from an interrupted study");
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }
}
