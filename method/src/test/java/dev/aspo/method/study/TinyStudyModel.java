package dev.aspo.method.study;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.world.WorldWriter;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A test fixture: a small shapes world ({@code dir/world}) and a freshly initialised study-sized
 * LLaVA on a tokenizer of its SFT answers ({@code dir/model}: weights, preprocessor_config.json,
 * tokenizer.json), what {@code aspo eval} and the study's evaluations read.
 */
public final class TinyStudyModel {
    private TinyStudyModel() {}

    /** Writes the world ({@code scenes} scenes, world seed 5) and the model under {@code dir}. */
    public static void write(Path dir, int scenes) throws IOException {
        Path world = dir.resolve("world");
        WorldWriter.write(world, scenes, 5, StudyModels.IMAGE_SIZE);
        ObjectMapper json = new ObjectMapper();
        List<String> corpus = new ArrayList<>();
        for (String line : Files.readAllLines(world.resolve("sft.jsonl"))) corpus.add(json.readTree(line).get("response").asText());
        Tokenizer tok = StudyModels.tokenizer(corpus);
        Path model = dir.resolve("model");
        StudyModels.llava(tok, StudyModels.clip(tok, 1), 2).save(model);
        ClipImageProcessor.clip(StudyModels.IMAGE_SIZE).save(model);
        tok.save(model.resolve("tokenizer.json"));
    }
}
