package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.HalfFloats;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by Python's {@code safetensors} (see src/test/python/make_safetensors_fixture.py),
 * against the expected values the script wrote beside them.
 */
class PythonFixtureTest {

    static Path resource(String name) throws Exception {
        return Path.of(PythonFixtureTest.class.getResource("/safetensors/" + name).toURI());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> sideFile(String name) throws Exception {
        return (Map<String, Object>) HeaderJson.parse(Files.readString(resource(name), StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> tensors(Map<String, Object> side) {
        return (Map<String, Map<String, Object>>) side.get("tensors");
    }

    static int[] ints(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> Integer.parseInt(o.toString())).toArray();
    }

    static long[] longs(Object list) {
        return ((List<?>) list).stream().mapToLong(o -> Long.parseLong(o.toString())).toArray();
    }

    /** Unsigned 32-bit patterns, as the script writes them, to float32 bits. */
    static int[] bits(Object list) {
        return ((List<?>) list).stream().mapToInt(o -> (int) Long.parseLong(o.toString())).toArray();
    }

    static int[] rawBits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    static String headerText(byte[] file) {
        int n = (int) java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new String(file, 8, n, StandardCharsets.UTF_8);
    }

    @Test
    void readsEveryDtypeWrittenByPython() throws Exception {
        Map<String, Object> side = sideFile("python_all_dtypes.json");
        // small windows too: tensors then span several mappings, with elements on both sides of each edge
        for (long window : new long[] {SafeTensorsFile.DEFAULT_WINDOW_BYTES, 8, 16, 24}) {
            try (SafeTensorsFile f = SafeTensorsFile.open(resource("python_all_dtypes.safetensors"), window)) {
                assertEquals(side.get("metadata"), f.metadata());
                Map<String, Map<String, Object>> want = tensors(side);
                assertEquals(want.keySet(), Set.copyOf(f.names()));
                for (Map.Entry<String, Map<String, Object>> e : want.entrySet()) {
                    String name = e.getKey();
                    Map<String, Object> w = e.getValue();
                    TensorInfo info = f.info(name);
                    String what = name + " (window " + window + ")";
                    assertEquals(w.get("dtype"), info.dtype().name(), what);
                    assertArrayEquals(ints(w.get("shape")), info.shape(), what);
                    if (w.containsKey("f32_bits")) {
                        Tensor t = f.readFloat(name);
                        assertArrayEquals(info.shape(), t.shape(), what);
                        assertArrayEquals(bits(w.get("f32_bits")), rawBits(t.toFloatArray()), what);
                        assertArrayEquals(bits(w.get("f32_bits")), rawBits(f.readFloatArray(name)), what);
                    } else {
                        LongTensor t = f.readLong(name);
                        assertArrayEquals(info.shape(), t.shape(), what);
                        assertArrayEquals(longs(w.get("values")), t.data(), what);
                    }
                }
            }
        }
    }

    @Test
    void coversTheRequiredCases() throws Exception {
        // guards the fixture itself: a regenerated file must keep the cases the reader is tested on
        try (SafeTensorsFile f = SafeTensorsFile.open(resource("python_all_dtypes.safetensors"))) {
            for (DType d : new DType[] {DType.F32, DType.F16, DType.BF16, DType.F64, DType.I64, DType.I32}) {
                assertTrue(f.names().stream().anyMatch(n -> f.info(n).dtype() == d), "fixture lacks " + d);
            }
            assertEquals(0, f.info("f32_scalar").shape().length);
            assertEquals(0, f.info("f32_empty").numel());
            assertEquals(2.5f, f.readFloat("f32_scalar").item());
            float[] f16 = f.readFloatArray("f16_special");
            assertEquals(0x1p-24f, f16[2]);
            assertEquals(0x80000000, Float.floatToRawIntBits(f16[1]));
            assertEquals(Float.POSITIVE_INFINITY, f16[11]);
            assertTrue(Float.isNaN(f16[13]));
        }
    }

    /**
     * readHalf: a tensor stored in the format asked for comes back bit for bit (the same values as
     * readFloat gives, NaN payloads too) in 2 bytes an element; another float dtype is rounded.
     */
    @Test
    void sixteenBitTensorsReadIntoSixteenBitsUnwidened() throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(resource("python_all_dtypes.safetensors"))) {
            for (String name : List.of("bf16_special", "bf16_random", "f16_special", "f16_random")) {
                Precision p = name.startsWith("bf16") ? Precision.BFLOAT16 : Precision.FLOAT16;
                Tensor t = f.readHalf(name, p);
                assertEquals(p, t.precision(), name);
                assertArrayEquals(f.info(name).shape(), t.shape(), name);
                assertEquals(2L * t.numel(), t.storageBytes(), name);
                assertArrayEquals(rawBits(f.readFloatArray(name)), rawBits(t.toFloatArray()), name);
            }
            float[] f32 = f.readFloatArray("f32_matrix"), asBf16 = f.readHalf("f32_matrix", Precision.BFLOAT16).toFloatArray();
            for (int i = 0; i < f32.length; i++) {
                assertEquals(HalfFloats.bf16ToF32(HalfFloats.f32ToBf16(f32[i])), asBf16[i], 0f, "f32_matrix rounded, " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> f.readHalf("f32_matrix", Precision.FLOAT32));
            assertThrows(SafeTensorsException.class, () -> f.readHalf("i64_ids", Precision.BFLOAT16));
        }
    }

    @Test
    void wrongReadForTheDtypeIsAClearError() throws Exception {
        try (SafeTensorsFile f = SafeTensorsFile.open(resource("python_all_dtypes.safetensors"))) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> f.readLong("f16_special"));
            assertTrue(e.getMessage().contains("python_all_dtypes.safetensors") && e.getMessage().contains("'f16_special' has dtype F16")
                    && e.getMessage().contains("use readFloat"), e.getMessage());
            e = assertThrows(SafeTensorsException.class, () -> f.readFloat("i64_ids"));
            assertTrue(e.getMessage().contains("'i64_ids' has dtype I64") && e.getMessage().contains("use readLong"), e.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> f.readFloat("nope"));
            assertTrue(missing.getMessage().contains("no tensor 'nope'") && missing.getMessage().contains("17 tensors"),
                    missing.getMessage());
        }
    }

    /** The Java writer, given the fixture's tensors in another order, writes the Python file byte for byte. */
    @Test
    void writerMatchesPythonByteForByte(@TempDir Path dir) throws Exception {
        Map<String, Object> side = sideFile("writer_reference.json");
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (Map.Entry<String, Map<String, Object>> e : tensors(side).entrySet()) {
            Map<String, Object> t = e.getValue();
            int[] shape = ints(t.get("shape"));
            switch ((String) t.get("dtype")) {
                case "F32": {
                    int[] b = bits(t.get("f32_bits"));
                    float[] v = new float[b.length];
                    for (int i = 0; i < b.length; i++) v[i] = Float.intBitsToFloat(b[i]);
                    w.put(e.getKey(), Tensor.of(v, shape));
                    break;
                }
                case "I64": w.putLong(e.getKey(), longs(t.get("values")), shape); break;
                case "I32": w.putInt(e.getKey(), ints(t.get("values")), shape); break;
                default: throw new AssertionError(t.get("dtype"));
            }
        }
        @SuppressWarnings("unchecked")
        Map<String, String> md = (Map<String, String>) side.get("metadata");
        w.metadata(md);
        Path out = dir.resolve("java.safetensors");
        w.write(out);
        byte[] want = Files.readAllBytes(resource("writer_reference.safetensors"));
        byte[] got = Files.readAllBytes(out);
        assertEquals(headerText(want), headerText(got)); // the readable part first, for a useful diff
        assertArrayEquals(want, got);
    }
}
