package dev.aspo.method.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetTest {
    private static final String GOOD = "{\"images\": [\"img/a.png\"], \"prompt\": \"What is it?\", \"chosen\": \"A cube.\", \"rejected\": \"A ball.\"}";

    private static Path write(Path dir, String... lines) throws IOException {
        Files.createDirectories(dir.resolve("img"));
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("img/a.png").toFile());
        Path f = dir.resolve("data.jsonl");
        Files.write(f, List.of(lines));
        return f;
    }

    private static void assertBad(Path dir, String line, String reason) throws IOException {
        Path f = write(dir, GOOD, "", line);
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.PREFERENCE, false));
        assertTrue(e.getMessage().startsWith(f + ":3: "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        Dataset skipped = Dataset.load(f, Dataset.Kind.PREFERENCE, true);
        assertEquals(1, skipped.size());
        assertEquals(1, skipped.skipped());
        assertEquals(e.getMessage(), skipped.skipReasons().get(0));
    }

    @Test
    void readsTrlPreferenceRecordsWithImagesRelativeToTheFile(@TempDir Path dir) throws IOException {
        Path f = write(dir, GOOD, "{\"prompt\": \"\", \"chosen\": \"x\", \"rejected\": \"y\"}");
        Dataset d = Dataset.load(f, Dataset.Kind.PREFERENCE, false);
        assertEquals(2, d.size());
        Record r = d.records().get(0);
        assertEquals(dir.resolve("img/a.png").toAbsolutePath().normalize(), r.images().get(0));
        assertEquals("What is it?", r.prompt());
        assertEquals("A cube.", r.chosen());
        assertEquals("A ball.", r.rejected());
        assertEquals(1, r.line());
        assertEquals(List.of(), d.records().get(1).images());
        assertEquals(0, d.skipped());
    }

    @Test
    void badRecordsNameFileLineAndReason(@TempDir Path dir) throws IOException {
        assertBad(dir, "{\"prompt\": \"p\", \"chosen\": \"a\"", "not valid JSON");
        assertBad(dir, "[1, 2]", "must be a JSON object");
        assertBad(dir, "{\"prompt\": \"p\", \"chosen\": \"a\"}", "missing \"rejected\"");
        assertBad(dir, "{\"prompt\": \"p\", \"chosen\": \"  \", \"rejected\": \"b\"}", "empty \"chosen\"");
        assertBad(dir, "{\"prompt\": 3, \"chosen\": \"a\", \"rejected\": \"b\"}", "\"prompt\" must be a string");
        assertBad(dir, "{\"images\": [\"img/nope.png\"], \"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}",
                "image img/nope.png not found");
        assertBad(dir, "{\"images\": \"img/a.png\", \"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}",
                "\"images\" must be an array");
    }

    @Test
    void sftAndCaptionRecords(@TempDir Path dir) throws IOException {
        Path f = write(dir, "{\"images\": [\"img/a.png\"], \"prompt\": \"p\", \"response\": \"A cube.\"}");
        assertEquals("A cube.", Dataset.load(f, Dataset.Kind.SFT, false).records().get(0).response());
        Path g = write(dir, "{\"prompt\": \"p\", \"response\": \"\"}");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(g, Dataset.Kind.SFT, false));
        assertTrue(e.getMessage().contains(":1: empty \"response\""), e.getMessage());
        Path c = write(dir, "{\"images\": [\"img/a.png\"], \"text\": \"a cube\"}", "{\"text\": \"no image\"}");
        Dataset caps = Dataset.load(c, Dataset.Kind.CAPTION, true);
        assertEquals("a cube", caps.records().get(0).response());
        assertEquals(1, caps.skipped());
        assertTrue(caps.skipReasons().get(0).contains(":2: a caption record needs an image"));
    }

    @Test
    void aFileWithNothingUsableIsAnError(@TempDir Path dir) throws IOException {
        Path f = write(dir, "{}");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.PREFERENCE, true));
        assertTrue(e.getMessage().contains("no usable records (1 skipped as bad)"), e.getMessage());
        assertThrows(DatasetException.class, () -> Dataset.load(dir.resolve("missing.jsonl"), Dataset.Kind.SFT, false));
    }
}
