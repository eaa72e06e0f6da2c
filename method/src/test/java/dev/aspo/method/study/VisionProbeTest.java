package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.world.Scene;
import dev.aspo.method.world.WorldWriter;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The linear probe on LLaVA's vision features, on a case with a known answer. */
class VisionProbeTest {
    @Test
    void theRenderingIsCleanEnoughThatAnUntrainedPatchEmbeddingTellsTheAttributes(@TempDir Path dir) throws Exception {
        WorldWriter.write(dir, 300, 4, StudyModels.IMAGE_SIZE);
        Map<Integer, Scene> byId = Reproduction.scenes(dir);
        List<Scene> scenes = new ArrayList<>(byId.values());
        List<Path> images = new ArrayList<>();
        for (int id : byId.keySet()) images.add(Reproduction.image(dir, id));
        Tokenizer tok = StudyModels.tokenizer(List.of("a red circle", "a blue square"));
        ClipModel clip = StudyModels.clip(tok, 1);
        Map<String, Double> acc = VisionProbe.accuracy(clip, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), images, scenes, 0);
        assertEquals(List.of("colour", "shape", "size"), new ArrayList<>(acc.keySet()));
        // a random linear map of an object's cell to 64 numbers (then layer norm) keeps its shape and size (its mask) and
        // most of its colour (chance: 1/6, 1/6, 1/2; measured 0.89, 1.0, 1.0)
        assertTrue(acc.get("colour") > 0.8, acc.toString());
        assertTrue(acc.get("shape") > 0.9, acc.toString());
        assertTrue(acc.get("size") > 0.9, acc.toString());
        for (double v : acc.values()) assertTrue(v >= 0 && v <= 1, acc.toString());
    }
}
