package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.models.clip.ClipActivation;
import dev.aspo.models.clip.ClipConfig;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipTextConfig;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
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
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTest {
    private static final Tokenizer TOK = Tiny.tokenizer();
    private static final Color[] COLOURS = {Color.RED, Color.BLUE, Color.GREEN, Color.YELLOW};

    static ClipModel tinyClip(long seed) {
        ClipConfig c = ClipConfig.of(ClipTextConfig.of(TOK.vocabSize(), 16, 24, 1, 2, 32, ClipActivation.QUICK_GELU,
                TOK.tokenToId("<eos>")), ClipVisionConfig.of(12, 20, 1, 2, 16, 8, ClipActivation.QUICK_GELU), 8);
        return ClipModel.random(c, seed);
    }

    /** Images img/i.png filled with colour i % 4, and a caption file naming the colour. */
    static Path captions(Path dir, int n) throws IOException {
        Files.createDirectories(dir.resolve("img"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(20, 20, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(COLOURS[i % 4]);
            g.fillRect(0, 0, 20, 20);
            g.setColor(Color.WHITE);
            g.fillRect(i % 10, i % 7, 6, 6);
            g.dispose();
            ImageIO.write(img, "png", dir.resolve("img/" + i + ".png").toFile());
            lines.add("{\"images\": [\"img/" + i + ".png\"], \"text\": \"A " + Tiny.COLOURS[i % 4] + " cube.\"}");
        }
        Path f = dir.resolve("captions.jsonl");
        Files.write(f, lines);
        return f;
    }

    @Test
    void similaritiesAreCosinesComputedOnceAndCachedByWeightsAndRecord(@TempDir Path dir) throws IOException {
        captions(dir, 2);
        ClipModel clip = tinyClip(1);
        ClipImageProcessor proc = ClipImageProcessor.clip(16);
        Record r = new Record(dir.resolve("x.jsonl"), 1, List.of(dir.resolve("img/0.png")), "p", "A red cube. It is small.", "b", null);
        List<String> sentences = List.of("A red cube. ", "It is small.");
        Path cache = dir.resolve("cache");
        ClipSimilarity first = new ClipSimilarity(clip, TOK, proc, cache);
        double[] s = first.similarities(r, sentences);
        assertEquals(1, first.computed());
        assertEquals(2, s.length);
        assertNotEquals(s[0], s[1]);

        // the reference: normalised embeddings of the image and of each stripped sentence, dot product in double
        try (var g = Autograd.noGrad()) {
            float[] img = clip.imageEmbeds(proc.pixelValues(List.of(r.images().get(0)))).toFloatArray();
            for (int i = 0; i < 2; i++) {
                int[] ids = ClipText.ids(TOK, clip.config().textConfig(), sentences.get(i).strip());
                assertEquals(TOK.tokenToId("<eos>"), ids[ids.length - 1]);
                int[] mask = new int[ids.length];
                Arrays.fill(mask, 1);
                float[] txt = clip.textEmbeds(ids, 1, ids.length, mask).toFloatArray();
                double dot = 0;
                for (int j = 0; j < txt.length; j++) dot += (double) txt[j] * img[j];
                assertEquals(dot, s[i], 0);
                assertTrue(Math.abs(dot) <= 1 + 1e-6);
            }
        }

        ClipSimilarity second = new ClipSimilarity(clip, TOK, proc, cache);   // a second run: nothing recomputed
        assertArrayEquals(s, second.similarities(r, sentences));
        assertEquals(0, second.computed());
        ClipSimilarity otherWeights = new ClipSimilarity(tinyClip(2), TOK, proc, cache);
        assertNotEquals(s[0], otherWeights.similarities(r, sentences)[0]);
        assertEquals(1, otherWeights.computed());

        Record noImage = new Record(dir.resolve("x.jsonl"), 7, List.of(), "p", "A.", "b", null);
        assertTrue(assertThrows(DatasetException.class, () -> first.similarities(noImage, List.of("A."))).getMessage()
                .startsWith(dir.resolve("x.jsonl") + ":7: "));
    }

    @Test
    void clipTrainingHasNoFrozenWeightsForDtype() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ClipTrainer(TrainConfig.of(Map.of("dtype", "bfloat16")),
                tinyClip(1), TOK, ClipImageProcessor.clip(16), new PrintStream(new ByteArrayOutputStream())));
        assertTrue(e.getMessage().startsWith("dtype: bfloat16 holds frozen weights") && e.getMessage().contains("leave dtype at float32"),
                e.getMessage());
    }

    @Test
    void contrastiveTrainingLearnsAndResumesExactly(@TempDir Path dir) throws IOException {
        Path train = captions(dir, 8);
        Map<String, String> o = new LinkedHashMap<>();
        o.put("train_file", train.toString());
        o.put("batch_size", "4");
        o.put("lr", "5e-3");
        o.put("max_steps", "40");
        o.put("save_every", "20");
        o.put("progress", "none");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        o.put("output_dir", dir.resolve("a").toString());
        ClipModel a = tinyClip(3);
        new ClipTrainer(TrainConfig.of(o), a, TOK, ClipImageProcessor.clip(16), quiet).run(null);
        List<ObjectNode> m = TrainerTest.metrics(dir.resolve("a"));
        assertEquals(40, m.size());
        double first = (m.get(0).get("loss").asDouble() + m.get(1).get("loss").asDouble()) / 2;
        double last = (m.get(38).get("loss").asDouble() + m.get(39).get("loss").asDouble()) / 2;
        assertTrue(last < first - 0.3, first + " -> " + last);
        assertTrue(m.get(0).has("logit_scale") && m.get(0).has("accuracy"));
        assertTrue(Files.isRegularFile(dir.resolve("a/checkpoint-40/preprocessor_config.json")));
        ClipModel reloaded = ClipModel.load(dir.resolve("a/checkpoint-40"));
        assertArrayEquals(a.logitScale.toFloatArray(), reloaded.logitScale.toFloatArray());

        // resumed from checkpoint-20 of a copy of the run: the same metrics and weights
        o.put("output_dir", dir.resolve("b").toString());
        Files.createDirectories(dir.resolve("b"));
        copyTree(dir.resolve("a/checkpoint-20"), dir.resolve("b/checkpoint-20"));
        List<String> head = Files.readAllLines(dir.resolve("a").resolve(Trainer.METRICS)).subList(0, 20);
        Files.write(dir.resolve("b").resolve(Trainer.METRICS), head);
        ClipModel b = tinyClip(77);
        new ClipTrainer(TrainConfig.of(o), b, TOK, ClipImageProcessor.clip(16), quiet).run(dir.resolve("b"));
        assertEquals(m, TrainerTest.metrics(dir.resolve("b")));
        for (var e : a.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), b.namedParameters().get(e.getKey()).toFloatArray(), e.getKey());
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : (Iterable<Path>) s::iterator) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
