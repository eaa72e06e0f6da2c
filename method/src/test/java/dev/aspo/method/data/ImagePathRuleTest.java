package dev.aspo.method.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dataset's image paths stay inside its folder (or the {@code image_root} a run names): a
 * dataset from elsewhere cannot make a run open {@code ../../../../etc/passwd} or any absolute path.
 */
class ImagePathRuleTest {
    private static Path dataset(Path dir, String image) throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        return Files.writeString(data.resolve("caps.jsonl"), "{\"images\": [\"" + image + "\"], \"text\": \"a cube\"}\n");
    }

    @Test
    void pathsThatClimbOutOrAreAbsoluteAreRefusedBeforeAnythingIsOpened(@TempDir Path dir) throws IOException {
        for (String image : new String[] {"../../../../etc/passwd", "/etc/passwd", "img/../../outside.png"}) {
            Path f = dataset(dir, image);
            DatasetException e = assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.CAPTION, false), image);
            assertTrue(e.getMessage().startsWith(f + ":1: image " + image + " is outside " + f.getParent()), e.getMessage());
            assertTrue(e.getMessage().contains("image_root"), e.getMessage());
        }
    }

    @Test
    void aWiderImageRootAllowsWhatItHolds(@TempDir Path dir) throws IOException {
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", dir.resolve("common.png").toFile());
        Path f = dataset(dir, "../common.png");
        assertThrows(DatasetException.class, () -> Dataset.load(f, Dataset.Kind.CAPTION, false));
        assertEquals(dir.resolve("common.png"), Dataset.load(f, Dataset.Kind.CAPTION, false, dir).records().get(0).images().get(0));
        Path abs = dataset(dir, dir.resolve("common.png").toString());
        assertEquals(1, Dataset.load(abs, Dataset.Kind.CAPTION, false, dir).size());
        // the root is a folder boundary, not a string prefix
        Path sibling = Files.createDirectories(dir.resolve("data-other"));
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", sibling.resolve("x.png").toFile());
        Path f2 = dataset(dir, "../data-other/x.png");
        assertThrows(DatasetException.class, () -> Dataset.load(f2, Dataset.Kind.CAPTION, false, dir.resolve("data")));
    }
}
