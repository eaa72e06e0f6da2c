package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/**
 * What a resumed run reads from a checkpoint's {@code trainer_state.json} (written by
 * {@link Trainer#state}); an unreadable or incomplete file is an error naming it and what to do.
 */
record TrainerState(long step, int epoch, int position, int records) {
    static TrainerState read(Path checkpoint) {
        Path file = checkpoint.resolve(Trainer.STATE);
        String remedy = "the checkpoint is damaged: move " + checkpoint.getFileName() + " out of " + checkpoint.getParent()
                + " and --resume again from the checkpoint before it";
        JsonNode st = StateFiles.readJson(file, remedy);
        return new TrainerState(StateFiles.requireLong(st, "global_step", file, remedy),
                Math.toIntExact(StateFiles.requireLong(st, "epoch", file, remedy)),
                Math.toIntExact(StateFiles.requireLong(st, "position", file, remedy)),
                Math.toIntExact(StateFiles.requireLong(st, "records", file, remedy)));
    }
}
