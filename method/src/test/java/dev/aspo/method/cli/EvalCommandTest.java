package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.study.Evaluation;
import dev.aspo.method.study.TinyStudyModel;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.Scene;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aspo eval} on a small world with a freshly initialised study-sized LLaVA: the printed
 * metrics are those of the answers it keeps (recomputed here with the judge), every scene is
 * described and every POPE probe asked, and bad folders and models are one clear error.
 */
class EvalCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SCENES = 3;

    @TempDir
    static Path tmp;
    private static Path world, model;

    @BeforeAll
    static void setUp() throws Exception {
        TinyStudyModel.write(tmp, SCENES);
        world = tmp.resolve("world");
        model = tmp.resolve("model");
    }

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void printsTheMetricsOfTheAnswersItKeeps() throws Exception {
        Path answers = tmp.resolve("answers.jsonl"), metrics = tmp.resolve("metrics.json");
        assertEquals(0, run("eval", "--model", model.toString(), "--world", world.toString(), "--answers", answers.toString(),
                "--out", metrics.toString()), err.toString());
        JsonNode printed = JSON.readTree(out.toString());
        assertEquals(printed, JSON.readTree(metrics.toFile()), "--out holds what was printed");

        // the descriptions: one per scene, and the printed CHAIR etc. are the judge's verdicts on them
        List<JsonNode> kept = new ArrayList<>();
        for (String line : Files.readAllLines(answers)) kept.add(JSON.readTree(line));
        List<Scene> scenes = new ArrayList<>();
        List<String> descriptions = new ArrayList<>();
        for (String line : Files.readAllLines(world.resolve("scenes.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            scenes.add(Scene.fromJson(n.get("scene")));
        }
        for (JsonNode a : kept) if (!a.has("split")) descriptions.add(a.get("answer").asText());   // probes have a split
        assertEquals(SCENES, descriptions.size());
        assertEquals(SCENES, printed.get("descriptions").asInt());
        for (Map.Entry<String, Double> e : Evaluation.descriptions(scenes, descriptions).entrySet()) {
            assertEquals(e.getValue(), printed.get(e.getKey()).asDouble(), 0.0, e.getKey());
        }

        // every probe of pope.jsonl asked, the yes ratio counted from the kept answers
        long probes = Files.readAllLines(world.resolve("pope.jsonl")).stream().filter(l -> !l.isBlank()).count();
        long asked = 0, yes = 0;
        for (JsonNode a : kept) {
            if (!a.has("split")) continue;
            asked++;
            if (Boolean.TRUE.equals(Judge.yesNo(a.get("answer").asText()))) yes++;
        }
        assertTrue(probes > 0);
        assertEquals(probes, asked);
        assertEquals(probes, printed.get("probes").asLong());
        assertEquals((double) yes / probes, printed.get("pope_yes_ratio").asDouble(), 0.0);
        for (String split : new String[] {"random", "popular", "adversarial"}) {
            assertTrue(printed.has("pope_" + split + "_f1"), split);
        }
    }

    @Test
    void noPopeScenesAsksNoProbes() throws Exception {
        assertEquals(0, run("eval", "--model", model.toString(), "--world", world.toString(), "--pope-scenes", "0"),
                err.toString());
        assertEquals(0, JSON.readTree(out.toString()).get("probes").asInt());
    }

    @Test
    void sampledDescriptionsAreJudgedBesideTheGreedyOnes() throws Exception {
        Path sampled = tmp.resolve("sampled.jsonl");
        assertEquals(0, run("eval", "--model", model.toString(), "--world", world.toString(), "--pope-scenes", "0", "--samples", "3",
                "--temperature", "1.5", "--seed", "4", "--sampled-answers", sampled.toString()), err.toString());
        JsonNode s = JSON.readTree(out.toString()).get("sampled");
        assertEquals(3 * SCENES, s.get("descriptions").asInt());
        assertEquals(1.5, s.get("temperature").asDouble());
        List<Scene> scenes = new ArrayList<>();
        Map<Integer, Scene> byId = new java.util.HashMap<>();
        for (String line : Files.readAllLines(world.resolve("scenes.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            byId.put(n.get("id").asInt(), Scene.fromJson(n.get("scene")));
        }
        List<String> said = new ArrayList<>();
        for (String line : Files.readAllLines(sampled)) {
            JsonNode n = JSON.readTree(line);
            scenes.add(byId.get(n.get("scene_id").asInt()));
            said.add(n.get("answer").asText());
        }
        assertEquals(3 * SCENES, said.size());
        for (Map.Entry<String, Double> e : Evaluation.descriptions(scenes, said).entrySet()) {
            assertEquals(e.getValue(), s.get(e.getKey()).asDouble(), 0.0, e.getKey());
        }
    }

    @Test
    void badInputIsOneClearLine() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(1, run("eval", "--model", model.toString(), "--world", empty.toString()));
        assertTrue(err.toString().contains("has no scenes.jsonl") && err.toString().contains("aspo world generate"),
                err.toString());

        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.copy(world.resolve("pope.jsonl"), broken.resolve("pope.jsonl"));
        Files.writeString(broken.resolve("scenes.jsonl"), Files.readAllLines(world.resolve("scenes.jsonl")).get(0)
                + "\n{\"id\": 1, \"scene\": {\"objects\": 3}}\n");
        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", model.toString(), "--world", broken.toString()));
        assertTrue(err.toString().contains(broken.resolve("scenes.jsonl") + ":2: "), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", model.toString(), "--world", world.toString(), "--pope-scenes", "-1"));
        assertTrue(err.toString().contains("--pope-scenes must be 0 or more"), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", model.toString(), "--world", world.toString(), "--samples", "2"));
        assertTrue(err.toString().contains("--samples 2 needs --temperature above 0"), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", model.toString(), "--world", world.toString(), "--samples", "2", "--temperature", "0"));
        assertTrue(err.toString().contains("needs --temperature above 0, got 0.0"), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", model.toString(), "--world", world.toString(), "--temperature", "1"));
        assertTrue(err.toString().contains("--temperature is for sampled descriptions: give --samples K too"), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(1, run("eval", "--model", world.toString(), "--world", world.toString()));
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
    }
}
