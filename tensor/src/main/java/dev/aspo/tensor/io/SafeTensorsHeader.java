package dev.aspo.tensor.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and checks the header of a safetensors file. The whole header is validated before any
 * tensor is handed out, so a caller never gets part of a model from a broken file.
 *
 * <pre>
 *   [ u64 little-endian N ][ N bytes UTF-8 JSON, space padded ][ data section ......... EOF ]
 *                            {"__metadata__": {"k": "v"},       ^ data_offsets are relative
 *                             "w": {"dtype": "F32",               to here
 *                                   "shape": [2, 3],
 *                                   "data_offsets": [0, 24]}, ...}
 * </pre>
 *
 * The same rules as the reference implementation: every tensor's byte span equals
 * {@code numel * dtype size}, and the spans, sorted, tile the data section exactly (no gap, no
 * overlap, nothing after the last one). Unknown fields inside a tensor entry are ignored, as the
 * reference does.
 */
final class SafeTensorsHeader {
    /** The reference implementation's limit on the header size (100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    final long fileSize;
    final long dataStart;
    /** In header order. */
    final Map<String, TensorInfo> tensors;
    final Map<String, String> metadata;

    private SafeTensorsHeader(long fileSize, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.fileSize = fileSize;
        this.dataStart = dataStart;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    static SafeTensorsHeader read(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafeTensorsException(file, "file is " + size + " bytes, too short to hold the 8-byte header length"
                    + " (truncated, or not a safetensors file)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, ch, lenBuf, 0);
        long n = lenBuf.getLong(0);
        // n is an unsigned 64-bit number: a negative long is a huge length
        if (n < 0 || n > size - 8) {
            throw new SafeTensorsException(file, "header length " + Long.toUnsignedString(n) + " is larger than the "
                    + (size - 8) + " bytes after the length field (truncated, or not a safetensors file)");
        }
        if (n > MAX_HEADER_BYTES) {
            throw new SafeTensorsException(file, "header length " + n + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) n);
        readFully(file, ch, headerBuf, 8);
        String text;
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBuf.flip());
            text = cb.toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, "header is not valid UTF-8 (" + e.getMessage() + ")");
        }
        Object json;
        try {
            json = HeaderJson.parse(text);
        } catch (HeaderJson.SyntaxError e) {
            throw new SafeTensorsException(file, "header is not valid JSON: " + e.getMessage());
        }
        if (!(json instanceof Map)) {
            throw new SafeTensorsException(file, "header is not a JSON object");
        }
        long dataStart = 8 + n;
        long dataLength = size - dataStart;

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : asMap(json).entrySet()) {
            String name = e.getKey();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(name, tensorInfo(file, name, e.getValue(), dataLength));
            }
        }
        checkTiling(file, tensors, dataLength);
        return new SafeTensorsHeader(size, dataStart, tensors, metadata);
    }

    private static void readMetadata(Path file, Object value, Map<String, String> out) throws SafeTensorsException {
        if (!(value instanceof Map)) {
            throw new SafeTensorsException(file, "\"" + METADATA_KEY + "\" must be an object of strings, got " + describe(value));
        }
        for (Map.Entry<String, Object> m : asMap(value).entrySet()) {
            if (!(m.getValue() instanceof String)) {
                throw new SafeTensorsException(file, "metadata value of \"" + m.getKey() + "\" must be a string, got "
                        + describe(m.getValue()));
            }
            out.put(m.getKey(), (String) m.getValue());
        }
    }

    private static TensorInfo tensorInfo(Path file, String name, Object value, long dataLength) throws SafeTensorsException {
        String where = "tensor '" + name + "'";
        if (!(value instanceof Map)) {
            throw new SafeTensorsException(file, where + ": expected an object with dtype, shape and data_offsets, got "
                    + describe(value));
        }
        Map<String, Object> m = asMap(value);
        Object dt = m.get("dtype"), sh = m.get("shape"), off = m.get("data_offsets");
        if (dt == null || sh == null || off == null) {
            throw new SafeTensorsException(file, where + ": missing "
                    + (dt == null ? "\"dtype\"" : sh == null ? "\"shape\"" : "\"data_offsets\""));
        }
        if (!(dt instanceof String)) throw new SafeTensorsException(file, where + ": dtype must be a string, got " + describe(dt));
        DType dtype = DType.parse((String) dt);
        if (dtype == null) {
            throw new SafeTensorsException(file, where + ": unknown dtype '" + dt + "' (known: " + Arrays.toString(DType.values()) + ")");
        }
        if (!(sh instanceof List)) throw new SafeTensorsException(file, where + ": shape must be an array, got " + describe(sh));
        List<?> dims = (List<?>) sh;
        int[] shape = new int[dims.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            BigInteger d = integer(file, where + ": shape " + dims, dims.get(i));
            if (d.signum() < 0) throw new SafeTensorsException(file, where + ": negative dimension " + d + " in shape " + dims);
            if (d.bitLength() > 31) {
                throw new SafeTensorsException(file, where + ": dimension " + d + " in shape " + dims + " exceeds 2^31-1");
            }
            shape[i] = d.intValue();
            numel = multiply(file, where + ": shape " + dims, numel, shape[i]);
        }
        if (!(off instanceof List) || ((List<?>) off).size() != 2) {
            throw new SafeTensorsException(file, where + ": data_offsets must be an array [begin, end], got " + describe(off));
        }
        List<?> offs = (List<?>) off;
        BigInteger b = integer(file, where + ": data_offsets " + offs, offs.get(0));
        BigInteger e = integer(file, where + ": data_offsets " + offs, offs.get(1));
        if (b.signum() < 0 || e.signum() < 0 || b.compareTo(e) > 0) {
            throw new SafeTensorsException(file, where + ": data_offsets " + offs + " are not 0 <= begin <= end");
        }
        if (e.compareTo(BigInteger.valueOf(dataLength)) > 0) {
            throw new SafeTensorsException(file, where + ": data_offsets " + offs + " run past the end of the data section ("
                    + dataLength + " bytes; truncated file?)");
        }
        long begin = b.longValueExact(), end = e.longValueExact();
        long bytes = multiply(file, where + ": shape " + dims, numel, dtype.bytes());
        if (bytes != end - begin) {
            throw new SafeTensorsException(file, where + ": dtype " + dtype + " and shape " + Arrays.toString(shape)
                    + " need " + bytes + " bytes but data_offsets " + offs + " span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, numel, begin, end);
    }

    /** The spans, sorted, must tile [0, dataLength) exactly, as the reference requires. */
    private static void checkTiling(Path file, Map<String, TensorInfo> tensors, long dataLength) throws SafeTensorsException {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        // by (begin, end), so that empty tensors sit before a tensor starting at the same byte
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long at = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < at) {
                throw new SafeTensorsException(file, "tensor '" + t.name() + "' bytes [" + t.begin() + ", " + t.end()
                        + ") overlap tensor '" + prev.name() + "' bytes [" + prev.begin() + ", " + prev.end() + ")");
            }
            if (t.begin() > at) {
                throw new SafeTensorsException(file, "bytes [" + at + ", " + t.begin() + ") of the data section, before tensor '"
                        + t.name() + "', belong to no tensor");
            }
            at = t.end();
            prev = t;
        }
        if (at != dataLength) {
            throw new SafeTensorsException(file, "the data section is " + dataLength + " bytes but the tensors cover only "
                    + at + " (trailing bytes belong to no tensor)");
        }
    }

    private static BigInteger integer(Path file, String where, Object v) throws SafeTensorsException {
        if (!(v instanceof HeaderJson.Num) || !((HeaderJson.Num) v).isInteger()) {
            throw new SafeTensorsException(file, where + ": expected an integer, got " + describe(v));
        }
        return new BigInteger(((HeaderJson.Num) v).text);
    }

    private static long multiply(Path file, String where, long a, long b) throws SafeTensorsException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(file, where + ": size overflows 64 bits");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return (Map<String, Object>) o;
    }

    private static String describe(Object v) {
        if (v instanceof String) return "string \"" + v + "\"";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "array " + v;
        return String.valueOf(v);
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, p);
            if (r < 0) throw new SafeTensorsException(file, "unexpected end of file at byte " + p + " while reading the header");
            p += r;
        }
    }
}
