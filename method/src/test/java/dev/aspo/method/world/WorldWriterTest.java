package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.cli.Main;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorldWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FILES = List.of("scenes.jsonl", "sft.jsonl", "captions.jsonl", "pope.jsonl", "sft-probes.jsonl",
            "colour-questions.jsonl");

    @TempDir
    Path tmp;

    @Test
    void sameSeedGivesIdenticalFiles() throws IOException {
        WorldWriter.write(tmp.resolve("a"), 12, 77, 48);
        WorldWriter.write(tmp.resolve("b"), 12, 77, 48);
        WorldWriter.write(tmp.resolve("c"), 12, 78, 48);
        List<Path> files = listed(tmp.resolve("a"));
        assertEquals(12 + FILES.size(), files.size(), "no temporary files left: " + files);
        for (Path rel : files) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("a").resolve(rel)), Files.readAllBytes(tmp.resolve("b").resolve(rel)), rel.toString());
        }
        assertFalse(Files.readString(tmp.resolve("a/scenes.jsonl")).equals(Files.readString(tmp.resolve("c/scenes.jsonl"))));
    }

    @Test
    void filesHaveTheDocumentedFormat() throws IOException {
        Path dir = tmp.resolve("world");
        WorldWriter.write(dir, 20, 5, 48);
        List<JsonNode> scenes = lines(dir.resolve("scenes.jsonl"));
        assertEquals(20, scenes.size());
        Map<Integer, Scene> byId = new HashMap<>();
        for (int i = 0; i < 20; i++) {
            JsonNode r = scenes.get(i);
            assertEquals(i, r.get("id").asInt());
            assertEquals(String.format("images/%06d.png", i), r.get("image").asText());
            Scene s = Scene.fromJson(r.get("scene"));
            byId.put(i, s);
            BufferedImage img = ImageIO.read(dir.resolve(r.get("image").asText()).toFile());
            assertEquals(48, img.getWidth());
            for (SceneObject o : s.objects()) {
                assertEquals(o.colour().rgb().getRGB(), img.getRGB(SceneRenderer.centreX(o.cell(), 48), SceneRenderer.centreY(o.cell(), 48)) | 0xFF000000);
            }
        }
        // sft: per scene a description, an attribute answer, a yes, a no and a place question; every response true of its scene
        List<JsonNode> sft = lines(dir.resolve("sft.jsonl"));
        assertEquals(5 * 20, sft.size());
        int yes = 0, no = 0, described = 0, places = 0;
        for (JsonNode r : sft) {
            assertEquals(List.of("images", "prompt", "response", "scene_id"), fields(r));
            Scene s = byId.get(r.get("scene_id").asInt());
            assertEquals(String.format("images/%06d.png", r.get("scene_id").asInt()), r.get("images").get(0).asText());
            String prompt = r.get("prompt").asText(), response = r.get("response").asText();
            if (Describer.DESCRIBE_INSTRUCTIONS.contains(prompt)) described++;
            Boolean yn = Judge.yesNo(response);
            if (prompt.startsWith("What is ") && !Describer.DESCRIBE_INSTRUCTIONS.contains(prompt)) {
                int cell = Positions.read(Judge.words(prompt));
                boolean occupied = s.objects().stream().anyMatch(o -> o.cell() == cell);
                assertEquals(occupied, !response.equals(Describer.NOTHING), prompt + " -> " + response);
                if (occupied) assertEquals(Verdict.CORRECT, Judge.judgeSentence(s, response).verdict(), response);
                places++;
            } else if (yn != null) {
                assertEquals(yn, new Describer(new java.util.Random(0)).answer(s, prompt).equals("Yes."), prompt);
                if (yn) yes++; else no++;
            } else {
                for (SentenceJudgement j : Judge.judge(s, response).sentences()) assertEquals(Verdict.CORRECT, j.verdict(), j.sentence());
            }
        }
        assertEquals(20, described);
        assertEquals(20, places);
        assertEquals(20, yes);
        assertEquals(20, no);
        // captions: one whole description per scene
        List<JsonNode> captions = lines(dir.resolve("captions.jsonl"));
        assertEquals(20, captions.size());
        for (int i = 0; i < 20; i++) {
            assertEquals(i, captions.get(i).get("scene_id").asInt());
            assertEquals(List.of("images", "text", "scene_id"), fields(captions.get(i)));
            ResponseJudgement j = Judge.judge(byId.get(i), captions.get(i).get("text").asText());
            assertEquals(byId.get(i).objects().size(), j.mentionedPresentObjects().size());
        }
        // the files load as the trainers' datasets (captions for aspo train clip, SFT records)
        assertEquals(20, dev.aspo.method.data.Dataset.load(dir.resolve("captions.jsonl"), dev.aspo.method.data.Dataset.Kind.CAPTION, false)
                .records().size());
        assertEquals(100, dev.aspo.method.data.Dataset.load(dir.resolve("sft.jsonl"), dev.aspo.method.data.Dataset.Kind.SFT, false)
                .records().size());
        // pope: every scene in every split, answers true of the scene
        List<JsonNode> pope = lines(dir.resolve("pope.jsonl"));
        Map<String, Integer> perSplit = new HashMap<>();
        int objects = byId.values().stream().mapToInt(s -> s.objects().size()).sum();
        for (JsonNode r : pope) {
            assertEquals(List.of("images", "prompt", "answer", "split", "scene_id"), fields(r));
            Scene s = byId.get(r.get("scene_id").asInt());
            String expected = new Describer(new java.util.Random(0)).answer(s, r.get("prompt").asText());
            assertEquals(expected.equals("Yes.") ? "yes" : "no", r.get("answer").asText());
            perSplit.merge(r.get("split").asText(), 1, Integer::sum);
        }
        assertEquals(Map.of("random", 2 * objects, "popular", 2 * objects, "adversarial", 2 * objects), perSplit);
    }

    @Test
    void everyYesQuestionIsAskedAgainWhereTheAnswerIsNo() throws IOException {
        Path dir = tmp.resolve("balanced");
        WorldWriter.write(dir, 300, 11, 48);
        Map<Integer, Scene> byId = scenesById(dir);
        Map<String, int[]> answers = new HashMap<>();   // question -> {yes, no}
        for (JsonNode r : lines(dir.resolve("sft.jsonl"))) {
            Boolean yn = Judge.yesNo(r.get("response").asText());
            if (yn == null) continue;
            String q = r.get("prompt").asText();
            assertEquals(new Describer(new java.util.Random(0)).answer(byId.get(r.get("scene_id").asInt()), q), yn ? "Yes." : "No.", q);
            answers.computeIfAbsent(q, k -> new int[2])[yn ? 0 : 1]++;
        }
        // a question is owed a "no" until a scene without its object comes; only the last few scenes' stay owed
        int owed = 0;
        for (var e : answers.entrySet()) {
            assertTrue(e.getValue()[1] >= e.getValue()[0] - 2, e.getKey() + " yes " + e.getValue()[0] + " no " + e.getValue()[1]);
            owed += Math.max(0, e.getValue()[0] - e.getValue()[1]);
        }
        assertTrue(owed <= 5, owed + " yes-answers without their no");
    }

    @Test
    void moreProbePairsAskAsManyNoAsYesEachAboutTheScene() throws IOException {
        Path dir = tmp.resolve("pairs");
        WorldWriter.write(dir, 200, 13, 48, false, 3);
        Map<Integer, Scene> byId = scenesById(dir);
        Map<Integer, int[]> perScene = new HashMap<>();   // scene -> {yes, no}
        Map<Integer, java.util.Set<String>> asked = new HashMap<>();
        for (JsonNode r : lines(dir.resolve("sft.jsonl"))) {
            Boolean yn = Judge.yesNo(r.get("response").asText());
            if (yn == null) continue;
            int id = r.get("scene_id").asInt();
            String q = r.get("prompt").asText();
            assertEquals(new Describer(new java.util.Random(0)).answer(byId.get(id), q), yn ? "Yes." : "No.", q);
            assertTrue(asked.computeIfAbsent(id, k -> new java.util.HashSet<>()).add(q), "asked twice of scene " + id + ": " + q);
            perScene.computeIfAbsent(id, k -> new int[2])[yn ? 0 : 1]++;
        }
        assertEquals(200, perScene.size());
        for (var e : perScene.entrySet()) {
            int objects = byId.get(e.getKey()).objects().size();
            assertEquals(Math.min(3, objects), e.getValue()[0], "yes-probes of scene " + e.getKey());
            assertEquals(e.getValue()[0], e.getValue()[1], "no-probes of scene " + e.getKey());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorldWriter.write(tmp.resolve("none"), 3, 1, 48, false, 0))
                .getMessage().contains("at least 1"));
    }

    @Test
    void colourQuestionsAreAnsweredByTheSceneAndBalanced() throws IOException {
        Path dir = tmp.resolve("colours");
        WorldWriter.write(dir, 300, 17, 48);
        Map<Integer, Scene> byId = scenesById(dir);
        Map<String, int[]> answers = new HashMap<>();   // question -> {yes, no}
        Map<Integer, int[]> perScene = new HashMap<>();
        java.util.regex.Pattern form = java.util.regex.Pattern.compile("Is there an? (\\w+) object in the image\\?");
        for (JsonNode r : lines(dir.resolve("colour-questions.jsonl"))) {
            String q = r.get("prompt").asText();
            var m = form.matcher(q);
            assertTrue(m.matches(), q);
            Colour c = Colour.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT));
            assertEquals(c == Colour.ORANGE, q.startsWith("Is there an "), q);
            Scene s = byId.get(r.get("scene_id").asInt());
            boolean holds = s.objects().stream().anyMatch(o -> o.colour() == c);
            assertEquals(holds ? "Yes." : "No.", r.get("response").asText(), q + " of scene " + r.get("scene_id"));
            assertEquals(String.format("images/%06d.png", r.get("scene_id").asInt()), r.get("images").get(0).asText());
            answers.computeIfAbsent(q, k -> new int[2])[holds ? 0 : 1]++;
            perScene.computeIfAbsent(r.get("scene_id").asInt(), k -> new int[2])[holds ? 0 : 1]++;
        }
        assertEquals(300, perScene.size());
        for (var e : perScene.entrySet()) assertArrayEquals(new int[] {1, 1}, e.getValue(), "scene " + e.getKey());
        assertEquals(Colour.values().length, answers.size());
        for (var e : answers.entrySet()) {   // each colour's yes-answers are owed a no by a later scene: at most a few stay owed
            assertTrue(Math.abs(e.getValue()[0] - e.getValue()[1]) <= 3, e.getKey() + " yes " + e.getValue()[0] + " no " + e.getValue()[1]);
        }
    }

    @Test
    void sftProbesAreTheYesNoRecordsOfTheSftData() throws IOException {
        Path dir = tmp.resolve("probes");
        WorldWriter.write(dir, 40, 19, 48, false, 2);
        List<String> yesNo = new ArrayList<>();
        for (JsonNode r : lines(dir.resolve("sft.jsonl"))) if (Judge.yesNo(r.get("response").asText()) != null) yesNo.add(r.toString());
        List<String> probes = new ArrayList<>();
        for (JsonNode r : lines(dir.resolve("sft-probes.jsonl"))) probes.add(r.toString());
        assertFalse(probes.isEmpty());
        assertEquals(yesNo, probes);
    }

    @Test
    void badInputIsRefused() throws IOException {
        Path file = Files.writeString(tmp.resolve("file.txt"), "x");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorldWriter.write(tmp.resolve("x"), 0, 1, 48)).getMessage().contains("0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorldWriter.write(tmp.resolve("x"), 3, 1, 16)).getMessage().contains("16"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WorldWriter.write(file, 3, 1, 48)).getMessage().contains("file.txt"));
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void commandLineWritesTheSameFiles() throws IOException {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = Main.run(new String[] {"world", "generate", "--n", "3", "--seed", "9", "--out", tmp.resolve("cli").toString(), "--size", "32"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, rc, err.toString());
        WorldWriter.write(tmp.resolve("api"), 3, 9, 32);
        for (Path rel : listed(tmp.resolve("api"))) {
            assertArrayEquals(Files.readAllBytes(tmp.resolve("api").resolve(rel)), Files.readAllBytes(tmp.resolve("cli").resolve(rel)), rel.toString());
        }
        rc = Main.run(new String[] {"world", "generate", "--n", "0", "--seed", "9", "--out", tmp.resolve("bad").toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(1, rc);
        assertTrue(err.toString().contains("at least 1"), err.toString());
    }

    private static Map<Integer, Scene> scenesById(Path dir) throws IOException {
        Map<Integer, Scene> byId = new HashMap<>();
        for (JsonNode r : lines(dir.resolve("scenes.jsonl"))) byId.put(r.get("id").asInt(), Scene.fromJson(r.get("scene")));
        return byId;
    }

    private static List<Path> listed(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).map(dir::relativize).sorted().toList();
        }
    }

    private static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) out.add(JSON.readTree(line));
        return out;
    }

    private static List<String> fields(JsonNode r) {
        List<String> names = new ArrayList<>();
        r.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
