package dev.aspo.method.train;

import dev.aspo.tensor.io.FileTrees;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A training run's {@code output_dir}, opened at the start of every run (SFT, DPO, ASPO, CLIP) so
 * that one run never mixes with another and a crash leaves nothing behind for good:
 * <ul>
 *   <li>a new run into a folder that already holds a run (a {@code checkpoint-<step>/} or a
 *       non-empty {@code metrics.jsonl}) is refused, naming {@code --resume}; with
 *       {@code overwrite_output_dir: true} that run's checkpoints, metrics and settings are deleted
 *       first (its caches are kept: they are keyed by content);</li>
 *   <li>{@code --resume DIR} must name a run ({@link #requireRun});</li>
 *   <li>the temporary files and folders an interrupted write left ({@code .<name>.tmp},
 *       {@code .<name>.<hex>.tmp}: checkpoints, caches, configs are written under such a name and
 *       renamed) are deleted. In a {@code cache_dir} outside the run, which other runs may share
 *       and be writing to, only those older than {@link #FOREIGN_LEFTOVER_AGE}.</li>
 * </ul>
 */
public final class RunDirectory {
    /** What a run writes beside its checkpoints: its settings (what {@code --resume} reads) and its metrics log. */
    public static final String CONFIG = "train_config.json", METRICS = "metrics.jsonl";
    /** What every atomic writer of the project names its temporary file or folder. */
    private static final Pattern LEFTOVER = Pattern.compile("\\..+\\.tmp");
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-\\d+");
    static final Duration FOREIGN_LEFTOVER_AGE = Duration.ofHours(1);

    private RunDirectory() {}

    /**
     * Makes {@code cfg}'s {@code output_dir} ready for a run: new ({@code resume} null) or continued
     * from the run in {@code resume}. Throws {@link IllegalArgumentException} naming the folder and
     * what to do when that would mix two runs.
     */
    public static Path open(TrainConfig cfg, Path resume, PrintStream console) throws IOException {
        Path out = cfg.requirePath("output_dir");
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("output_dir " + out + " is a file, not a folder");
        }
        Files.createDirectories(out);
        if (resume != null) requireRun(resume);
        boolean same = resume != null && Files.isSameFile(resume, out);
        List<String> found = runFiles(out);
        if (!same && !found.isEmpty()) {
            if (!cfg.bool("overwrite_output_dir")) {
                throw new IllegalArgumentException("output_dir " + out + " already holds a training run (" + String.join(", ", found)
                        + "); continue it with --resume " + out + ", or start over with --overwrite_output_dir true (deletes its"
                        + " checkpoints and metrics), or choose another output_dir");
            }
            for (String f : found) deleteTree(out.resolve(f));
            Files.deleteIfExists(out.resolve(CONFIG));
            console.println("overwrite_output_dir: deleted the earlier run's " + String.join(", ", found) + " in " + out);
        }
        removeLeftovers(out, Duration.ZERO);
        Path cache = cfg.isSet("cache_dir") ? cfg.path("cache_dir") : out.resolve("cache");
        boolean inRun = cache.toAbsolutePath().normalize().startsWith(out.toAbsolutePath().normalize());
        removeLeftovers(cache, inRun ? Duration.ZERO : FOREIGN_LEFTOVER_AGE);
        return out;
    }

    /** Refuses a {@code --resume} folder that holds no run, naming what a run folder holds. */
    public static void requireRun(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--resume " + dir + ": " + (Files.exists(dir) ? "not a folder" : "no such folder"));
        }
        if (!Files.isRegularFile(dir.resolve(CONFIG)) && Checkpoints.latest(dir) == null) {
            throw new IllegalArgumentException("--resume " + dir + ": not a training run (it has neither " + CONFIG
                    + " nor a checkpoint-<step>/ folder); to start a new run, leave out --resume and give --config");
        }
    }

    /** The names of what a run left in {@code out}: its checkpoints and a non-empty metrics file. */
    static List<String> runFiles(Path out) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            s.map(p -> p.getFileName().toString()).filter(n -> CHECKPOINT.matcher(n).matches()).sorted().forEach(found::add);
        }
        Path metrics = out.resolve(METRICS);
        if (Files.isRegularFile(metrics) && Files.size(metrics) > 0) found.add(METRICS);
        return found;
    }

    /** Deletes the temporary files and folders of interrupted writes in {@code dir} that are at least {@code minAge} old. */
    public static void removeLeftovers(Path dir, Duration minAge) throws IOException {
        if (!Files.isDirectory(dir)) return;
        Instant before = Instant.now().minus(minAge);
        List<Path> stale = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!LEFTOVER.matcher(p.getFileName().toString()).matches()) continue;
                FileTime t = Files.getLastModifiedTime(p);
                if (minAge.isZero() || t.toInstant().isBefore(before)) stale.add(p);
            }
        }
        for (Path p : stale) deleteTree(p);
    }

    /** Deletes a file or a folder with everything in it (nothing when absent). */
    public static void deleteTree(Path p) throws IOException {
        FileTrees.deleteTree(p);
    }
}
