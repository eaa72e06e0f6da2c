package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A run's {@code metrics.jsonl}: one JSON object per logged step and per evaluation, appended as
 * the run goes (an append torn by a kill is cut off when the run resumes: {@link StateFiles}).
 */
final class MetricsLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;

    MetricsLog(Path out) {
        this.file = out.resolve(RunDirectory.METRICS);
    }

    /** A new run: no lines yet. */
    void startOver() throws IOException {
        Files.deleteIfExists(file);
    }

    /** A run resumed at {@code step}: keeps the lines of steps up to it and drops what came after (it is trained again). */
    void keepUpTo(long step) throws IOException {
        if (!Files.exists(file)) return;
        List<String> keep = new ArrayList<>();
        for (JsonNode l : StateFiles.readJsonLines(file, "remove that line (or the file) and resume again")) {
            if (l.path("step").asLong(Long.MAX_VALUE) <= step) keep.add(JSON.writeValueAsString(l));
        }
        Files.write(file, keep);
    }

    void append(Map<String, Object> line) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(line) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
