package dev.aspo.tensor.io;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.CpuStorage;
import dev.aspo.tensor.cpu.HalfStorage;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file opened for reading. {@link #open} reads and validates the whole header (see
 * {@link SafeTensorsHeader} for the rules) and nothing else; each {@code read*} call then maps just
 * that tensor's bytes and converts them straight into the array that will back the result:
 *
 * <pre>
 *   file --mmap (&lt;= 1 GiB window)--&gt; little-endian view --convert--&gt; float[] / long[]
 * </pre>
 *
 * so a model's weights never sit on the heap twice. A tensor larger than one window (a single
 * mapping is limited to 2 GiB) is mapped window by window; windows are a multiple of 8 bytes, so
 * no element straddles two of them.
 *
 * <p>On the cpu backend the float tensor's storage is the converted array itself (no copy); on
 * another backend the array is uploaded once ({@link Backend#upload}).
 *
 * <p>Reads of different tensors may run on different threads. Closing releases the file handle;
 * mapped windows are released by the garbage collector after their tensor is converted.
 */
public final class SafeTensorsFile implements Closeable {
    /** Largest window mapped at once: a multiple of 8, well under the 2 GiB mapping limit. */
    static final long DEFAULT_WINDOW_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final SafeTensorsHeader header;
    private final long windowBytes;
    private volatile boolean closed;

    private SafeTensorsFile(Path path, FileChannel channel, SafeTensorsHeader header, long windowBytes) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.windowBytes = windowBytes;
    }

    /** Opens {@code path} and validates its header; a broken file gives a {@link SafeTensorsException}. */
    public static SafeTensorsFile open(Path path) throws IOException {
        return open(path, DEFAULT_WINDOW_BYTES);
    }

    /** As {@link #open(Path)} with a given mapping window (tests use tiny windows to cross boundaries). */
    static SafeTensorsFile open(Path path, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes % 8 != 0 || windowBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("window of " + windowBytes + " bytes must be a positive multiple of 8 below 2 GiB");
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new SafeTensorsFile(path, ch, SafeTensorsHeader.read(path, ch), windowBytes);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public List<String> names() {
        return new ArrayList<>(header.tensors.keySet());
    }

    public boolean contains(String name) {
        return header.tensors.containsKey(name);
    }

    /** The header's {@code __metadata__} (empty if it has none); unmodifiable. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /**
     * Dtype, shape and byte span of tensor {@code name}.
     *
     * @throws IllegalArgumentException if the file has no such tensor (the message lists some names)
     */
    public TensorInfo info(String name) {
        TensorInfo t = header.tensors.get(name);
        if (t == null) {
            List<String> names = names();
            String some = names.size() <= 10 ? names.toString() : names.subList(0, 10) + " and " + (names.size() - 10) + " more";
            throw new IllegalArgumentException(path + ": no tensor '" + name + "'; it has " + names.size() + " tensors: " + some);
        }
        return t;
    }

    /** Tensor {@code name} as float32 on the current backend; see {@link #readFloat(String, Backend)}. */
    public Tensor readFloat(String name) throws IOException {
        return readFloat(name, Backends.current());
    }

    /**
     * Tensor {@code name} as a float32 tensor on {@code backend}. F32 is read as is; F16, BF16 and
     * F64 are converted (F16 and BF16 exactly, F64 rounded to nearest). A 0-d scalar comes back with
     * shape {@code []}.
     */
    public Tensor readFloat(String name, Backend backend) throws IOException {
        TensorInfo t = info(name);
        checkFloat(t);
        int n = elementCount(t);
        if (backend == Backends.cpu()) {
            // decode into the storage's own array: the one and only heap copy
            Storage s = backend.allocate(n);
            decodeFloats(t, CpuStorage.data(s));
            return Tensor.of(s, t.shape());
        }
        float[] host = new float[n];
        decodeFloats(t, host);
        return Tensor.of(backend.upload(host), t.shape());
    }

    /**
     * Tensor {@code name} held in {@code precision} (bfloat16 or float16) on the cpu backend, for a
     * frozen weight ({@link Tensor#storeAs}): a tensor stored in that dtype is copied bit for bit,
     * never widened, so it takes half the heap of {@link #readFloat}; any other float dtype is
     * converted to float32 and rounded to nearest even. The storage carries {@code name} for error
     * messages.
     */
    public Tensor readHalf(String name, Precision precision) throws IOException {
        if (precision == Precision.FLOAT32) throw new IllegalArgumentException("readHalf reads bfloat16 or float16; use readFloat");
        TensorInfo t = info(name);
        checkFloat(t);
        int n = elementCount(t);
        if (t.dtype() == (precision == Precision.BFLOAT16 ? DType.BF16 : DType.F16)) {
            short[] bits = new short[n];
            forEachWindow(t, (buf, first, count) -> buf.asShortBuffer().get(bits, first, count));
            return Tensor.of(HalfStorage.wrap(bits, precision, name), t.shape());
        }
        float[] values = new float[n];
        decodeFloats(t, values);
        return Tensor.of(HalfStorage.round(values, precision, name), t.shape());
    }

    /** Tensor {@code name} converted to a host float[] (row-major); same dtypes as {@link #readFloat}. */
    public float[] readFloatArray(String name) throws IOException {
        TensorInfo t = info(name);
        checkFloat(t);
        float[] out = new float[elementCount(t)];
        decodeFloats(t, out);
        return out;
    }

    /**
     * Integer tensor {@code name} as int64 on the host: I64 as is; I32, I16, I8, U8 and BOOL
     * (0 or 1) widened exactly. For {@code input_ids}, {@code labels}, {@code attention_mask}.
     */
    public LongTensor readLong(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isReadableAsLong()) {
            throw new SafeTensorsException(path, "tensor '" + name + "' has dtype " + t.dtype()
                    + "; readLong reads I64, I32, I16, I8, U8 and BOOL" + (t.dtype().isReadableAsFloat() ? " (use readFloat)" : ""));
        }
        long[] out = new long[elementCount(t)];
        forEachWindow(t, (buf, first, count) -> {
            switch (t.dtype()) {
                case I64: buf.asLongBuffer().get(out, first, count); break;
                case I32: for (int i = 0; i < count; i++) out[first + i] = buf.getInt(4 * i); break;
                case I16: for (int i = 0; i < count; i++) out[first + i] = buf.getShort(2 * i); break;
                case I8: for (int i = 0; i < count; i++) out[first + i] = buf.get(i); break;
                case U8: case BOOL: for (int i = 0; i < count; i++) out[first + i] = buf.get(i) & 0xFF; break;
                default: throw new AssertionError(t.dtype());
            }
        });
        return new LongTensor(out, t.shape());
    }

    private void checkFloat(TensorInfo t) throws SafeTensorsException {
        if (!t.dtype().isReadableAsFloat()) {
            throw new SafeTensorsException(path, "tensor '" + t.name() + "' has dtype " + t.dtype()
                    + "; readFloat reads F32, F16, BF16 and F64" + (t.dtype().isReadableAsLong() ? " (use readLong)" : ""));
        }
    }

    private int elementCount(TensorInfo t) throws SafeTensorsException {
        // Java arrays stop just short of 2^31 elements
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsException(path, "tensor '" + t.name() + "' has " + t.numel()
                    + " elements, more than one Java array holds");
        }
        return (int) t.numel();
    }

    private void decodeFloats(TensorInfo t, float[] out) throws IOException {
        forEachWindow(t, (buf, first, count) -> {
            switch (t.dtype()) {
                case F32: buf.asFloatBuffer().get(out, first, count); break;
                case F16: for (int i = 0; i < count; i++) out[first + i] = HalfFloats.f16ToF32(buf.getShort(2 * i)); break;
                case BF16: for (int i = 0; i < count; i++) out[first + i] = HalfFloats.bf16ToF32(buf.getShort(2 * i)); break;
                case F64: for (int i = 0; i < count; i++) out[first + i] = (float) buf.getDouble(8 * i); break;
                default: throw new AssertionError(t.dtype());
            }
        });
    }

    /** Receives one mapped window: {@code count} elements, the first being element {@code first}. */
    @FunctionalInterface
    private interface WindowDecoder {
        void decode(ByteBuffer littleEndian, int first, int count);
    }

    private void forEachWindow(TensorInfo t, WindowDecoder decoder) throws IOException {
        if (closed) throw new IllegalStateException(path + " is closed");
        // a file cut short after open would fault inside the mapping; say so instead
        long size = channel.size();
        if (size != header.fileSize) {
            throw new SafeTensorsException(path, "file changed size since it was opened (" + header.fileSize + " -> " + size + " bytes)");
        }
        int esize = t.dtype().bytes();
        long window = windowBytes - windowBytes % esize;
        int first = 0;
        for (long at = t.begin(); at < t.end(); at += window) {
            long len = Math.min(window, t.end() - at);
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, header.dataStart + at, len);
            int count = (int) (len / esize);
            decoder.decode(mapped.order(ByteOrder.LITTLE_ENDIAN), first, count);
            first += count;
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return "SafeTensorsFile(" + path + ", " + header.tensors.size() + " tensors)";
    }
}
