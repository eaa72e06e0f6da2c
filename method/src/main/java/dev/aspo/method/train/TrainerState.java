package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.tensor.optim.AdamW;
import java.nio.file.Path;

/**
 * A checkpoint's {@code trainer_state.json}: enough, with the run's config, to continue exactly.
 * What a resumed run reads of it is this record; an unreadable or incomplete file is an error
 * naming it and what to do.
 */
record TrainerState(long step, int epoch, int position, int records) {
    private static final ObjectMapper JSON = new ObjectMapper();

    static TrainerState read(Path checkpoint) {
        Path file = checkpoint.resolve(Checkpoints.STATE);
        String remedy = "the checkpoint is damaged: move " + checkpoint.getFileName() + " out of " + checkpoint.getParent()
                + " and --resume again from the checkpoint before it";
        JsonNode st = StateFiles.readJson(file, remedy);
        return new TrainerState(StateFiles.requireLong(st, "global_step", file, remedy),
                Math.toIntExact(StateFiles.requireLong(st, "epoch", file, remedy)),
                Math.toIntExact(StateFiles.requireLong(st, "position", file, remedy)),
                Math.toIntExact(StateFiles.requireLong(st, "records", file, remedy)));
    }

    /** The file's content after step {@code step} of a run of {@code mode} ({@code sft}, {@code dpo}, {@code aspo}, {@code clip}). */
    static ObjectNode json(long step, EpochCursor cursor, String mode, AdamW opt, TrainConfig cfg) {
        ObjectNode s = JSON.createObjectNode();
        s.put("global_step", step);
        s.put("epoch", cursor.epoch);
        s.put("position", cursor.position);
        s.put("records", cursor.n);
        s.put("seed", cursor.seed);
        s.put("shuffle", "Fisher-Yates with java.util.Random(seed * 1000003 + epoch)");
        s.put("mode", mode);
        s.put("lr_next", opt.lr());
        s.set("config", cfg.toJson());
        return s;
    }
}
