package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.world.Scene;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ModelEvaluation#sample} with a freshly initialised study-sized LLaVA on a small world: every
 * scene is described {@code samples} times, the numbers are the judge's over the kept answers, the
 * same seed gives the same answers (every method of a study is sampled with its seed's one seed),
 * and temperature 0 is the greedy description, once.
 */
class SampledDescriptionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SCENES = 3;

    @TempDir
    static Path tmp;
    private static Path world;
    private static LlavaPolicy policy;
    private static Tokenizer tok;
    private static final ClipImageProcessor PROC = ClipImageProcessor.clip(StudyModels.IMAGE_SIZE);

    @BeforeAll
    static void setUp() throws Exception {
        TinyStudyModel.write(tmp, SCENES);
        world = tmp.resolve("world");
        policy = LlavaPolicy.load(tmp.resolve("model"));
        tok = Tokenizer.fromFile(tmp.resolve("model/tokenizer.json"));
    }

    private static List<JsonNode> lines(Path f) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) if (!l.isBlank()) out.add(JSON.readTree(l));
        return out;
    }

    @Test
    void everySceneIsDescribedSamplesTimesAndTheNumbersAreTheJudgesOfTheKeptAnswers() throws Exception {
        Path answers = tmp.resolve("sampled.jsonl");
        ObjectNode r = ModelEvaluation.sample(policy, tok, PROC, world, 1.5, 4, 11, answers);
        List<JsonNode> kept = lines(answers);
        assertEquals(4 * SCENES, kept.size());
        assertEquals(4 * SCENES, r.get("descriptions").asInt());
        assertEquals(4, r.get("samples").asInt());
        assertEquals(1.5, r.get("temperature").asDouble());
        Map<Integer, Scene> scenes = Reproduction.scenes(world);
        List<Scene> judged = new ArrayList<>();
        List<String> said = new ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            assertEquals(i % 4, kept.get(i).get("sample").asInt());
            judged.add(scenes.get(kept.get(i).get("scene_id").asInt()));
            said.add(kept.get(i).get("answer").asText());
        }
        for (int id : scenes.keySet()) {
            assertEquals(4, kept.stream().filter(n -> n.get("scene_id").asInt() == id).count(), "scene " + id);
        }
        for (var e : Evaluation.descriptions(judged, said).entrySet()) assertEquals(e.getValue(), r.get(e.getKey()).asDouble(), 0.0, e.getKey());
        // and the paired statistics' units of the file add up to the same numbers
        var units = SceneUnits.read(answers, scenes);
        for (String k : SceneUnits.DESCRIPTION_METRICS) {
            double num = 0, den = 0;
            for (int i = 0; i < units.get(k).num().length; i++) {
                num += units.get(k).num()[i];
                den += units.get(k).den()[i];
            }
            assertEquals(r.get(k).asDouble(), den == 0 ? 0 : num / den, 1e-12, k);
        }
    }

    @Test
    void theSameSeedGivesTheSameAnswersAndAnotherSeedOthers() throws Exception {
        Path a = tmp.resolve("a.jsonl"), b = tmp.resolve("b.jsonl"), c = tmp.resolve("c.jsonl");
        ModelEvaluation.sample(policy, tok, PROC, world, 1.5, 3, 7, a);
        ModelEvaluation.sample(policy, tok, PROC, world, 1.5, 3, 7, b);
        ModelEvaluation.sample(policy, tok, PROC, world, 1.5, 3, 8, c);
        assertEquals(Files.readString(a), Files.readString(b));
        // an untrained model's answers at temperature 1.5 are near-uniform draws over the vocabulary: another seed changes them
        assertNotEquals(Files.readString(a), Files.readString(c));
    }

    @Test
    void temperatureZeroIsTheGreedyDescriptionOnce() throws Exception {
        Path f = tmp.resolve("greedy.jsonl");
        ObjectNode r = ModelEvaluation.sample(policy, tok, PROC, world, 0, 4, 7, f);
        assertEquals(1, r.get("samples").asInt());
        List<String> said = lines(f).stream().map(n -> n.get("answer").asText()).toList();
        assertEquals(ModelEvaluation.describe(policy, tok, PROC, world).answers(), said);
    }

    @Test
    void badArgumentsAreClearErrors() {
        assertThrows(IllegalArgumentException.class, () -> ModelEvaluation.sample(policy, tok, PROC, world, 1, 0, 7, null));
        assertThrows(IllegalArgumentException.class, () -> ModelEvaluation.sample(policy, tok, PROC, world, -1, 2, 7, null));
        assertThrows(IllegalArgumentException.class, () -> ModelEvaluation.sample(policy, tok, PROC, world, Double.NaN, 2, 7, null));
    }
}
