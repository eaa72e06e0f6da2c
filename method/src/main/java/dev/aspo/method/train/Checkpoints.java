package dev.aspo.method.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensors;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A run's checkpoints, {@code out/checkpoint-<step>/}: the model (HF layout), {@code
 * optimizer.safetensors} ({@link AdamW#state()}), {@code trainer_state.json} ({@link TrainerState})
 * and the tokenizer. A checkpoint is written under a temporary name and renamed, so it is complete
 * or absent; resuming from one restores the weights, AdamW's moments and the data order's position.
 *
 * @param out           the run's folder
 * @param mode          what is trained ({@code sft}, {@code dpo}, {@code aspo}, {@code clip}), saved in the state
 * @param cfg           the run's settings, saved in the state
 * @param weights       the model's part
 * @param tokenizerJson the tokenizer saved with the model (null: none)
 */
record Checkpoints(Path out, String mode, TrainConfig cfg, Checkpoints.Weights weights, String tokenizerJson) {
    static final String STATE = "trainer_state.json", OPTIMIZER = "optimizer.safetensors";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The model's part of a checkpoint: written into its folder, read back on resume. */
    interface Weights {
        void save(Path dir) throws IOException;

        void load(Path checkpoint) throws IOException;
    }

    /** Writes {@code checkpoint-<step>} of the run as it is after that step; returns its folder. */
    Path save(long step, EpochCursor cursor, AdamW opt) throws IOException {
        Path dir = out.resolve("checkpoint-" + step);
        Path tmp = out.resolve(".checkpoint-" + step + ".tmp");
        RunDirectory.deleteTree(tmp);
        Files.createDirectories(tmp);
        weights.save(tmp);
        Map<String, Tensor> st = new LinkedHashMap<>();
        opt.state().forEach((k, v) -> st.put(k, Tensor.of(v, v.length)));
        SafeTensors.write(tmp.resolve(OPTIMIZER), st, Map.of(), Map.of("format", "aspo-adamw"));
        Files.writeString(tmp.resolve(STATE),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(TrainerState.json(step, cursor, mode, opt, cfg)));
        if (tokenizerJson != null) Files.writeString(tmp.resolve("tokenizer.json"), tokenizerJson);
        RunDirectory.deleteTree(dir);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    /**
     * Continues from {@code checkpoint}: the data position into {@code cursor}, the weights and
     * AdamW's moments into the model and {@code opt}. Returns the checkpoint's step. A checkpoint
     * made on another number of records is refused (the data order would not be the run's).
     */
    long restore(Path checkpoint, EpochCursor cursor, AdamW opt) throws IOException {
        TrainerState st = TrainerState.read(checkpoint);
        cursor.epoch = st.epoch();
        cursor.position = st.position();
        if (st.records() != cursor.n) {
            throw new IllegalArgumentException(checkpoint + ": the checkpoint was made on " + st.records()
                    + " records, the training file has " + cursor.n);
        }
        weights.load(checkpoint);
        Map<String, float[]> state = new LinkedHashMap<>();
        for (var e : SafeTensors.readFloats(checkpoint.resolve(OPTIMIZER)).entrySet()) state.put(e.getKey(), e.getValue().toFloatArray());
        opt.loadState(state);
        return st.step();
    }

    /** The checkpoint {@code --resume dir} continues from: the latest ({@link #latest}); none is an error. */
    static Path requireLatest(Path dir) throws IOException {
        Path last = latest(dir);
        if (last == null) throw new IllegalArgumentException(dir + ": no complete checkpoint-<step> directory to resume from");
        return last;
    }

    /** The checkpoint with the highest step under {@code dir} (complete ones only: they appear by rename), or null. */
    static Path latest(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return null;
        Path best = null;
        long bestStep = -1;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (m.matches() && Files.isRegularFile(p.resolve(STATE)) && Long.parseLong(m.group(1)) > bestStep) {
                    bestStep = Long.parseLong(m.group(1));
                    best = p;
                }
            }
        }
        return best;
    }
}
