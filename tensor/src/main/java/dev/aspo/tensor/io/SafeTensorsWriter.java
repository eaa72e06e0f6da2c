package dev.aspo.tensor.io;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.CpuStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Collects named tensors and metadata, then writes them as one safetensors file:
 *
 * <pre>
 *   new SafeTensorsWriter()
 *       .put("w", weights)                      // float32 Tensor  -> F32
 *       .putLong("input_ids", ids)              // LongTensor      -> I64
 *       .putInt("positions", pos, 1, 7)         // int[] + shape   -> I32
 *       .metadata("format", "pt")
 *       .write(path);
 * </pre>
 *
 * <b>Layout</b> follows the reference implementation, so Python's {@code safetensors} writes the
 * same bytes for the same tensors: tensors are ordered by dtype (I64, then F32, then I32) and,
 * within a dtype, by name (UTF-8 byte order), regardless of the order they were added; that keeps
 * every tensor aligned to its element size. The header lists {@code __metadata__} first (keys in
 * insertion order), is compact JSON, and is padded with spaces to a multiple of 8 bytes.
 *
 * <p><b>Atomic</b>: {@link #write} writes a temporary file next to the target, forces it to disk,
 * then renames it over the target (ATOMIC_MOVE), so a crash or an error leaves either the old file
 * or the complete new one at the target path, never a partial one.
 *
 * <p>{@link #writeCheckpoint} writes the same tensors as a transformers checkpoint folder instead:
 * {@code model.safetensors}, or shards and their index when they exceed a shard size.
 *
 * <p>Tensors are held by reference and read when {@link #write} runs.
 */
public final class SafeTensorsWriter {
    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Size of the staging buffer between the arrays and the file. */
    private static final int BUFFER_BYTES = 1 << 20;

    /** One tensor to write: its dtype, shape and a way to stream its elements little-endian. */
    private abstract static class Entry {
        final DType dtype;
        final int[] shape;
        final long numel;

        Entry(DType dtype, int[] shape, long numel) {
            this.dtype = dtype;
            this.shape = shape.clone();
            this.numel = numel;
        }

        long bytes() {
            return numel * dtype.bytes();
        }

        /** Called before the first {@link #fill} of a write. */
        void start() {}

        /** Puts elements {@code [first, first + count)} into {@code buf} (little-endian, at position 0). */
        abstract void fill(ByteBuffer buf, int first, int count);

        /** Called after the last {@link #fill} of a write. */
        void finish() {}
    }

    /** Adds a float32 tensor (written as F32; a 16-bit one is widened, exactly). */
    public SafeTensorsWriter put(String name, Tensor tensor) {
        return add(name, new Entry(DType.F32, tensor.shape(), tensor.numel()) {
            float[] data;

            @Override
            void start() {
                // cpu: the tensor's own array, no copy; another backend: one download
                data = tensor.backend() == Backends.cpu() && tensor.precision() == Precision.FLOAT32
                        ? CpuStorage.data(tensor.storage()) : tensor.toFloatArray();
            }

            @Override
            void fill(ByteBuffer buf, int first, int count) {
                buf.asFloatBuffer().put(data, first, count);
            }

            @Override
            void finish() {
                data = null;
            }
        });
    }

    /** Adds a float32 tensor given as a row-major host array (written as F32). */
    public SafeTensorsWriter put(String name, float[] data, int... shape) {
        return add(name, new Entry(DType.F32, shape, checkNumel(name, data.length, shape)) {
            @Override
            void fill(ByteBuffer buf, int first, int count) {
                buf.asFloatBuffer().put(data, first, count);
            }
        });
    }

    /** Adds an int64 tensor (written as I64). */
    public SafeTensorsWriter putLong(String name, LongTensor tensor) {
        return putLong(name, tensor.data(), tensor.shape());
    }

    /** Adds an int64 tensor given as a row-major array (written as I64). */
    public SafeTensorsWriter putLong(String name, long[] data, int... shape) {
        return add(name, new Entry(DType.I64, shape, checkNumel(name, data.length, shape)) {
            @Override
            void fill(ByteBuffer buf, int first, int count) {
                buf.asLongBuffer().put(data, first, count);
            }
        });
    }

    /** Adds an int32 tensor given as a row-major array (written as I32). */
    public SafeTensorsWriter putInt(String name, int[] data, int... shape) {
        return add(name, new Entry(DType.I32, shape, checkNumel(name, data.length, shape)) {
            @Override
            void fill(ByteBuffer buf, int first, int count) {
                buf.asIntBuffer().put(data, first, count);
            }
        });
    }

    /** Adds a {@code __metadata__} entry (a later value for the same key replaces the earlier one). */
    public SafeTensorsWriter metadata(String key, String value) {
        checkText("metadata key", key);
        checkText("metadata value of '" + key + "'", value);
        metadata.put(key, value);
        return this;
    }

    /** Adds every entry of {@code entries} as metadata. */
    public SafeTensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    private SafeTensorsWriter add(String name, Entry e) {
        checkText("tensor name", name);
        if (name.equals(SafeTensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + SafeTensorsHeader.METADATA_KEY + "' is reserved and cannot name a tensor");
        }
        if (tensors.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' was already added");
        tensors.put(name, e);
        return this;
    }

    private static long checkNumel(String name, int length, int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n != length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + length);
        }
        return n;
    }

    /** A string with a lone surrogate has no UTF-8 form; refuse it rather than write '?'. */
    private static void checkText(String what, String s) {
        if (s == null) throw new IllegalArgumentException(what + " is null");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(what + " \"" + s + "\" holds a lone UTF-16 surrogate at index " + i);
            }
        }
    }

    /** Tensor names in file order: dtype descending as in {@link DType}, then UTF-8 bytes of the name. */
    List<String> fileOrder() {
        List<String> names = new ArrayList<>(tensors.keySet());
        names.sort((a, b) -> {
            int c = Integer.compare(tensors.get(b).dtype.ordinal(), tensors.get(a).dtype.ordinal());
            return c != 0 ? c : Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
        });
        return names;
    }

    /** The header JSON, space padded so that 8 + its length is a multiple of 8. */
    byte[] header() {
        StringBuilder sb = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            HeaderJson.quote(sb, SafeTensorsHeader.METADATA_KEY);
            sb.append(":{");
            boolean firstKey = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (!firstKey) sb.append(',');
                firstKey = false;
                HeaderJson.quote(sb, m.getKey());
                sb.append(':');
                HeaderJson.quote(sb, m.getValue());
            }
            sb.append('}');
        }
        long offset = 0;
        for (String name : fileOrder()) {
            Entry e = tensors.get(name);
            if (sb.length() > 1) sb.append(',');
            HeaderJson.quote(sb, name);
            sb.append(":{\"dtype\":\"").append(e.dtype.name()).append("\",\"shape\":[");
            for (int i = 0; i < e.shape.length; i++) sb.append(i == 0 ? "" : ",").append(e.shape[i]);
            sb.append("],\"data_offsets\":[").append(offset).append(',').append(offset + e.bytes()).append("]}");
            offset += e.bytes();
        }
        sb.append('}');
        byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Writes the file atomically (see the class comment); the target's directory must exist. */
    public void write(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        writeAtomically(abs, this::writeTo);
        syncDirectory(abs.getParent());
    }

    /**
     * Writes the tensors into folder {@code dir} (created if missing) as transformers'
     * {@code save_pretrained(dir, max_shard_size=maxShardBytes)} does: tensors are assigned to
     * shards as {@link ShardPlan} describes; if one shard holds them all it is
     * {@code model.safetensors}, else they are {@code model-0000i-of-0000n.safetensors} plus
     * {@code model.safetensors.index.json} (metadata {@code total_parameters}, the element count,
     * and {@code total_size}, the tensor bytes; every shard carries this writer's metadata). The
     * files are written into a temporary folder inside {@code dir}, then moved in by
     * {@link CheckpointFiles#install}, replacing a checkpoint of either layout already there
     * without ever mixing the two.
     *
     * @param maxShardBytes the shard size limit in bytes; {@link ShardSize#UNLIMITED} for one file
     */
    public void writeCheckpoint(Path dir, long maxShardBytes) throws IOException {
        Map<String, Long> sizes = new LinkedHashMap<>();
        long elements = 0, bytes = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            sizes.put(e.getKey(), e.getValue().bytes());
            elements += e.getValue().numel;
            bytes += e.getValue().bytes();
        }
        List<List<String>> shards = ShardPlan.split(sizes, maxShardBytes);
        Path target = dir.toAbsolutePath();
        Files.createDirectories(target);
        Path staged = createTempDirectory(target, "model");
        try {
            if (shards.size() <= 1) {
                write(staged.resolve(CheckpointFiles.SINGLE));
            } else {
                for (int i = 0; i < shards.size(); i++) {
                    SafeTensorsWriter shard = new SafeTensorsWriter().metadata(metadata);
                    for (String name : shards.get(i)) shard.tensors.put(name, tensors.get(name));
                    shard.write(staged.resolve(CheckpointFiles.shardName(i + 1, shards.size())));
                }
                Map<String, Long> indexMetadata = new LinkedHashMap<>();
                indexMetadata.put("total_parameters", elements);
                indexMetadata.put("total_size", bytes);
                String index = SafeTensorsIndex.format(indexMetadata, ShardPlan.weightMap(shards));
                byte[] content = index.getBytes(StandardCharsets.UTF_8);
                writeAtomically(staged.resolve(CheckpointFiles.INDEX), ch -> writeAll(ch, ByteBuffer.wrap(content)));
            }
            CheckpointFiles.install(staged, target);
        } finally {
            FileTrees.deleteTree(staged);
        }
    }

    private interface Contents {
        void writeTo(FileChannel ch) throws IOException;
    }

    /** Writes {@code target} under a temporary name beside it, forced to disk, then renamed into place; a failure leaves no file. */
    private static void writeAtomically(Path target, Contents contents) throws IOException {
        Path tmp = createTemp(target.getParent(), target.getFileName().toString());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                contents.writeTo(ch);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** A new empty folder beside the target, hidden, with the usual permissions. */
    private static Path createTempDirectory(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                return Files.createDirectory(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) throw e;
            }
        }
    }

    private void writeTo(FileChannel ch) throws IOException {
        byte[] header = header();
        ByteBuffer buf = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length);
        writeAll(ch, buf.flip());
        writeAll(ch, ByteBuffer.wrap(header));
        for (String name : fileOrder()) {
            Entry e = tensors.get(name);
            int perBuffer = BUFFER_BYTES / e.dtype.bytes();
            e.start();
            for (long first = 0; first < e.numel; first += perBuffer) {
                int count = (int) Math.min(perBuffer, e.numel - first);
                buf.clear();
                e.fill(buf, (int) first, count);
                buf.limit(count * e.dtype.bytes());
                writeAll(ch, buf);
            }
            e.finish();
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /**
     * A new empty file beside the target. Not {@code Files.createTempFile}: that one is created
     * owner-only (0600) on POSIX, which the renamed file would keep; this one gets the usual
     * permissions (umask), like any other file the process writes.
     */
    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) throw e;
            }
        }
    }

    /** Makes the rename itself durable; not every platform can open a directory, which is fine. */
    static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the file's own data was forced before the rename
        }
    }
}
