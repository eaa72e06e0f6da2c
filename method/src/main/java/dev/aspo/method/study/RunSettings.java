package dev.aspo.method.study;

import dev.aspo.method.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The training settings every run of a study seed shares (CLIP, SFT, recipe and preference runs), and where a run resumes. */
final class RunSettings {
    private RunSettings() {}

    /** Settings every run shares. */
    static Map<String, String> common(Path d, int seed, String run, Path model, int steps, int batch, double lr) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model", model.toString());
        o.put("tokenizer", d.resolve("tokenizer.json").toString());
        o.put("output_dir", d.resolve(run).toString());
        o.put("cache_dir", d.resolve("cache").toString());
        o.put("max_steps", String.valueOf(steps));
        o.put("batch_size", String.valueOf(batch));
        o.put("lr", String.valueOf(lr));
        o.put("seed", String.valueOf(seed));
        o.put("max_length", String.valueOf(Reproduction.MAX_LENGTH));
        o.put("save_every", String.valueOf(Math.max(1, steps / 2)));
        o.put("log_every", "1");
        o.put("progress", "none");
        // a run is resumed whenever it has a checkpoint (resumeFrom); one killed before its first
        // checkpoint has only metrics, which the study starts over
        o.put("overwrite_output_dir", "true");
        o.put("image_root", d.toString());   // pairs/*.jsonl name the world's images as ../world/images/...
        return o;
    }

    static Path resumeFrom(Path runDir) throws IOException {
        return Files.isDirectory(runDir) && Trainer.latestCheckpoint(runDir) != null ? runDir : null;
    }
}
