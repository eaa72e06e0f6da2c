package dev.aspo.tensor.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The weight files of a transformers checkpoint folder, in one of two layouts:
 *
 * <pre>
 *   single    model.safetensors
 *   sharded   model.safetensors.index.json  +  model-00001-of-0000N.safetensors ... model-0000N-of-0000N.safetensors
 * </pre>
 *
 * A folder holding both is read as transformers reads it: {@code model.safetensors} wins and the
 * index is ignored. {@link #install} replaces one checkpoint by another and, once done, leaves one
 * layout; at every moment in between (so also after a crash part-way) the folder reads as the old
 * weights or the new ones (or, in the one case {@link #install} describes, as no checkpoint), never
 * a mix of the two.
 */
public final class CheckpointFiles {
    private CheckpointFiles() {}

    /** The single-file checkpoint {@code save_pretrained} writes. */
    public static final String SINGLE = "model.safetensors";

    /** The index of a sharded checkpoint: {@code {"metadata": {...}, "weight_map": {tensor: shard file}}}. */
    public static final String INDEX = "model.safetensors.index.json";

    /** A shard's name as transformers writes it; transformers deletes stale ones of this form when it saves. */
    private static final Pattern SHARD = Pattern.compile("model-\\d{5,}-of-\\d{5,}\\.safetensors");

    /** The name of shard {@code i} (from 1) of {@code n}: {@code model-00002-of-00005.safetensors}. */
    public static String shardName(int i, int n) {
        return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i, n);
    }

    static boolean isShardName(String fileName) {
        return SHARD.matcher(fileName).matches();
    }

    /** True if {@code dir} holds a checkpoint in either layout (its files are not checked). */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(SINGLE)) || Files.isRegularFile(dir.resolve(INDEX));
    }

    /**
     * Moves the checkpoint in {@code staged} (a folder holding only {@link #SINGLE}, or only an
     * {@link #INDEX} and its shards, on the same file system) into {@code target}, replacing the
     * checkpoint there in either layout. Each file is renamed atomically, in an order that keeps
     * the folder readable as one checkpoint throughout:
     *
     * <ul>
     *   <li>single: {@code model.safetensors} is renamed in (from then on it wins over any index),
     *       then the old index and every {@code model-*-of-*.safetensors} are deleted;
     *   <li>sharded: the shards are renamed in, then the index, then the old {@code model.safetensors}
     *       is deleted (the switch), then old shards the new index does not name. When a new shard
     *       takes the name of one an old index names, the old index is deleted first: until the new
     *       index appears, the folder then holds no readable checkpoint (a clear error on load)
     *       rather than the old index over a mix of old and new shards.
     * </ul>
     *
     * Other files in {@code target} are left alone; {@code staged} is left empty.
     */
    public static void install(Path staged, Path target) throws IOException {
        Files.createDirectories(target);
        if (Files.isRegularFile(staged.resolve(SINGLE))) {
            move(staged, target, SINGLE);
            Files.deleteIfExists(target.resolve(INDEX));
            for (String f : shardFiles(target)) Files.deleteIfExists(target.resolve(f));
        } else if (Files.isRegularFile(staged.resolve(INDEX))) {
            List<String> shards = shardFiles(staged);
            boolean collide = false;
            for (String f : shards) collide |= Files.exists(target.resolve(f));
            if (collide) Files.deleteIfExists(target.resolve(INDEX));
            for (String f : shards) move(staged, target, f);
            move(staged, target, INDEX);
            Files.deleteIfExists(target.resolve(SINGLE));
            Set<String> keep = new HashSet<>(shards);
            for (String f : shardFiles(target)) {
                if (!keep.contains(f)) Files.deleteIfExists(target.resolve(f));
            }
        } else {
            throw new IOException(staged + ": holds neither " + SINGLE + " nor " + INDEX + " to install");
        }
        SafeTensorsWriter.syncDirectory(target);
    }

    private static void move(Path from, Path to, String name) throws IOException {
        Files.move(from.resolve(name), to.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The {@code model-*-of-*.safetensors} files of {@code dir}, sorted. */
    private static List<String> shardFiles(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(CheckpointFiles::isShardName).sorted().forEach(out::add);
        }
        return out;
    }
}
