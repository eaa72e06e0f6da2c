package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.tensor.io.IoErrors;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every error says what is wrong and where: the file, the line, the key. */
class ErrorMessagesTest {
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void aFileErrorSaysWhyNotOnlyThePath() {
        // java.nio's exceptions carry the bare path as their message
        assertEquals("/d/x.json: permission denied", IoErrors.describe(new AccessDeniedException("/d/x.json")));
        assertEquals("/d/x: is a folder, not a file", IoErrors.describe(new FileSystemException("/d/x", null, "Is a directory")));
        assertEquals("cannot write the cache: /c/f: no space left on the disk", IoErrors.describe(new UncheckedIOException(
                "cannot write the cache", new FileSystemException("/c/f", null, "No space left on device"))));
        assertEquals("NullPointerException", IoErrors.describe(new NullPointerException()));
    }

    @Test
    void aFolderWhereAFileBelongsIsNamedSo(@TempDir Path dir) {
        assertEquals(1, run("loss", "--input", dir.toString()));
        assertTrue(err.toString().contains(dir + ": cannot read it (is a folder, not a file)"), err.toString());
    }

    @Test
    void aBrokenJsonFileNamesItsLineWithoutJacksonsRedactedSource(@TempDir Path dir) throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"policy_chosen_logps\": [\n");
        assertEquals(1, run("loss", "--input", bad.toString()));
        assertTrue(err.toString().contains(bad + ": not valid JSON: ") && err.toString().contains("at line 2"), err.toString());
        assertFalse(err.toString().contains("REDACTED"), err.toString());
    }

    @Test
    void aJsonlLineThatIsNotUtf8IsABadRecordNamedByLine(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("data.jsonl");
        String good = "{\"prompt\": \"p\", \"response\": \"A red cube.\"}\n";
        byte[] bad = "{\"prompt\": \"p\", \"response\": \"A r\u00e9d cube.\"}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Files.write(f, concat(good.getBytes(), bad, good.getBytes()));
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.SFT, false));
        assertTrue(e.getMessage().startsWith(f + ":2: not valid UTF-8"), e.getMessage());
        Dataset d = Dataset.load(f, Dataset.Kind.SFT, true);
        assertEquals(2, d.size());
        assertEquals(1, d.skipped());
    }

    @Test
    void anImageThatDoesNotDecodeIsABadRecordNamedByLine(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("img"));
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("img/good.png").toFile());
        byte[] png = Files.readAllBytes(dir.resolve("img/good.png"));
        Files.write(dir.resolve("img/torn.png"), java.util.Arrays.copyOf(png, png.length / 2));
        Files.writeString(dir.resolve("img/text.png"), "not an image");
        Path f = Files.writeString(dir.resolve("caps.jsonl"), "{\"images\": [\"img/good.png\"], \"text\": \"a\"}\n"
                + "{\"images\": [\"img/torn.png\"], \"text\": \"b\"}\n{\"images\": [\"img/text.png\"], \"text\": \"c\"}\n"
                + "{\"images\": [\"img/torn.png\"], \"text\": \"d\"}\n{\"images\": [\"img/good.png\"], \"text\": \"e\"}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.CAPTION, false));
        assertTrue(e.getMessage().startsWith(f + ":2: image img/torn.png: cannot decode the image"), e.getMessage());
        Dataset d = Dataset.load(f, Dataset.Kind.CAPTION, true);
        assertEquals(2, d.size());
        assertEquals(3, d.skipped());
        assertTrue(d.skipReasons().get(1).startsWith(f + ":3: image img/text.png: not an image format"), d.skipReasons().get(1));
        // an image named again is decoded once, and each record naming a broken one is refused on its own line
        assertEquals(d.skipReasons().get(0).replace(f + ":2:", f + ":4:"), d.skipReasons().get(2));
    }

    @Test
    void aYamlSyntaxErrorNamesItsLine(@TempDir Path dir) throws IOException {
        Path yaml = Files.writeString(dir.resolve("run.yaml"), "model: m\nlr: 1e-3\nbatch_size: [4\nseed: 1\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.load(yaml, Map.of()));
        assertTrue(e.getMessage().startsWith(yaml + ": not valid YAML: ") && e.getMessage().matches("(?s).* at line [34], column \\d+"),
                e.getMessage());
        assertFalse(e.getMessage().contains("REDACTED"), e.getMessage());
    }

    @Test
    void resumeOnAFolderThatIsNotARunSaysSo(@TempDir Path dir) throws IOException {
        Path notRun = Files.createDirectories(dir.resolve("photos"));
        assertEquals(1, run("train", "sft", "--resume", notRun.toString()));
        assertTrue(err.toString().contains("--resume " + notRun + ": not a training run"), err.toString());
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }
}
