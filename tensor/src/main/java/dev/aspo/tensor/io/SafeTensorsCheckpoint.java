package dev.aspo.tensor.io;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The tensors of a checkpoint, from one safetensors file or from the shards a
 * {@code model.safetensors.index.json} lists (see {@link CheckpointFiles} for the two layouts).
 * {@link #open} resolves a path as transformers' {@code from_pretrained} does:
 *
 * <pre>
 *   folder with model.safetensors              that file (an index beside it is ignored)
 *   folder with model.safetensors.index.json   the index and the shards it names
 *   *.index.json file                          that index and its shards
 *   any other file                             that safetensors file
 * </pre>
 *
 * Every shard is opened and its header checked before a tensor is handed out; each shard is
 * then read as {@link SafeTensorsFile} reads (each tensor memory-mapped and converted straight
 * into its array). A sharded checkpoint is refused with one error naming the file and the tensor
 * when: the index is not JSON or has no {@code weight_map} object; a shard it names is missing or
 * not a valid safetensors file; the index maps a tensor to a shard that does not hold it; or two
 * shards hold the same tensor. A tensor a shard holds but the index does not name is read like
 * any other, as transformers reads every tensor of the shards it opens; shard files the index
 * does not name are not opened.
 */
public final class SafeTensorsCheckpoint implements Closeable {
    private final Path source;
    private final boolean sharded;
    private final List<SafeTensorsFile> files;
    /** Tensor name to the file holding it, in shard order then header order. */
    private final Map<String, SafeTensorsFile> byName;

    private SafeTensorsCheckpoint(Path source, boolean sharded, List<SafeTensorsFile> files, Map<String, SafeTensorsFile> byName) {
        this.source = source;
        this.sharded = sharded;
        this.files = files;
        this.byName = byName;
    }

    /** Opens the checkpoint at {@code path} (a folder, an index or a safetensors file; see the class comment). */
    public static SafeTensorsCheckpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path single = path.resolve(CheckpointFiles.SINGLE), index = path.resolve(CheckpointFiles.INDEX);
            if (Files.exists(single)) return single(single);
            if (Files.exists(index)) return sharded(index);
            throw new SafeTensorsException(path, "no " + CheckpointFiles.SINGLE + " and no " + CheckpointFiles.INDEX
                    + " (not a checkpoint folder)");
        }
        return path.getFileName() != null && path.getFileName().toString().endsWith(".index.json") ? sharded(path) : single(path);
    }

    private static SafeTensorsCheckpoint single(Path file) throws IOException {
        SafeTensorsFile f = SafeTensorsFile.open(file);
        Map<String, SafeTensorsFile> byName = new LinkedHashMap<>();
        for (String n : f.names()) byName.put(n, f);
        return new SafeTensorsCheckpoint(file, false, List.of(f), byName);
    }

    private static SafeTensorsCheckpoint sharded(Path index) throws IOException {
        Map<String, String> weightMap = SafeTensorsIndex.readWeightMap(index);
        Path dir = index.toAbsolutePath().getParent();
        List<SafeTensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafeTensorsFile> byName = new LinkedHashMap<>();
            Map<String, SafeTensorsFile> byShard = new LinkedHashMap<>();
            for (String shard : new TreeSet<>(weightMap.values())) {      // the order transformers loads them in
                SafeTensorsFile f = openShard(index, dir.resolve(shard), weightMap, shard);
                opened.add(f);
                byShard.put(shard, f);
                for (String n : f.names()) {
                    SafeTensorsFile other = byName.putIfAbsent(n, f);
                    if (other != null) {
                        throw new SafeTensorsException(index, "tensor '" + n + "' is in two shards, " + other.path().getFileName()
                                + " and " + shard + "; a checkpoint holds each tensor once");
                    }
                }
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                if (!byShard.get(e.getValue()).contains(e.getKey())) {
                    SafeTensorsFile actual = byName.get(e.getKey());
                    throw new SafeTensorsException(index, "\"weight_map\" puts tensor '" + e.getKey() + "' in " + e.getValue()
                            + ", which does not hold it" + (actual == null ? " (no shard the index names holds it)"
                            : " (it is in " + actual.path().getFileName() + ")"));
                }
            }
            return new SafeTensorsCheckpoint(index, true, Collections.unmodifiableList(opened), byName);
        } catch (IOException | RuntimeException e) {
            for (SafeTensorsFile f : opened) {
                try {
                    f.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static SafeTensorsFile openShard(Path index, Path file, Map<String, String> weightMap, String shard) throws IOException {
        try {
            return SafeTensorsFile.open(file);
        } catch (SafeTensorsException e) {
            throw new SafeTensorsException(file, "not a valid shard of " + index.getFileName() + ": " + e.problem());
        } catch (IOException e) {
            String example = weightMap.entrySet().stream().filter(x -> x.getValue().equals(shard)).findFirst().orElseThrow().getKey();
            long count = weightMap.values().stream().filter(shard::equals).count();
            throw new SafeTensorsException(file, "cannot open this shard, which " + index.getFileName() + " names for " + count
                    + " tensor" + (count == 1 ? "" : "s") + " (e.g. '" + example + "'): " + IoErrors.reason(e));
        }
    }

    /** The file opened: the single safetensors file, or the index of a sharded checkpoint. */
    public Path source() {
        return source;
    }

    /** True for an index and its shards. */
    public boolean isSharded() {
        return sharded;
    }

    /** The safetensors files read: the single file, or the shards in name order. */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        for (SafeTensorsFile f : files) out.add(f.path());
        return out;
    }

    /** Every tensor name: shard by shard (in file name order), each in header order. */
    public List<String> names() {
        return new ArrayList<>(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    /** The file holding tensor {@code name}. */
    public Path file(String name) {
        return fileOf(name).path();
    }

    /** Dtype and shape of tensor {@code name} (its byte span is within {@link #file}). */
    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    /** Tensor {@code name} as float32 on the current backend; see {@link SafeTensorsFile#readFloat(String, Backend)}. */
    public Tensor readFloat(String name) throws IOException {
        return readFloat(name, Backends.current());
    }

    /** Tensor {@code name} as float32 on {@code backend}; see {@link SafeTensorsFile#readFloat(String, Backend)}. */
    public Tensor readFloat(String name, Backend backend) throws IOException {
        return fileOf(name).readFloat(name, backend);
    }

    /** Tensor {@code name} held in 16 bits on the cpu backend; see {@link SafeTensorsFile#readHalf}. */
    public Tensor readHalf(String name, Precision precision) throws IOException {
        return fileOf(name).readHalf(name, precision);
    }

    private SafeTensorsFile fileOf(String name) {
        SafeTensorsFile f = byName.get(name);
        if (f == null) {
            List<String> names = names();
            String some = names.size() <= 10 ? names.toString() : names.subList(0, 10) + " and " + (names.size() - 10) + " more";
            throw new IllegalArgumentException(source + ": no tensor '" + name + "'; it has " + names.size() + " tensors: " + some);
        }
        return f;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafeTensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return "SafeTensorsCheckpoint(" + source + ", " + byName.size() + " tensors" + (sharded ? " in " + files.size() + " shards" : "") + ")";
    }
}
