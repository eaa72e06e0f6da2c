package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {
    private final Random rng = new Random(11);

    @TempDir
    Path dir;

    static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }

    @Test
    void aSixteenBitWeightIsWrittenAsItsFloat32Values() throws Exception {
        Tensor w = Tensor.randn(rng, 1f, 5, 3).storeAs(Precision.BFLOAT16, "w");
        Path p = dir.resolve("half.safetensors");
        new SafeTensorsWriter().put("w", w).write(p);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertEquals(DType.F32, f.info("w").dtype());
            assertArrayEquals(bits(w.toFloatArray()), bits(f.readFloatArray("w")));
            assertArrayEquals(bits(w.toFloatArray()), bits(f.readHalf("w", Precision.BFLOAT16).toFloatArray()),
                    "rounding the widened values again changes nothing");
        }
    }

    @Test
    void writesAndReadsBackEveryKindExactly() throws Exception {
        // odd shapes, a 0-d scalar, empties, and bit patterns that must survive as is
        Map<String, Tensor> floats = new LinkedHashMap<>();
        floats.put("layers.0.weight", Tensor.randn(rng, 1f, 7, 13));
        floats.put("bias", Tensor.randn(rng, 1f, 13));
        floats.put("scalar", Tensor.of(new float[] {-3.25f}));
        floats.put("empty", Tensor.zeros(0, 5));
        floats.put("specials", Tensor.of(new float[] {-0f, Float.NaN, Float.intBitsToFloat(0x7FA00001),
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, Float.MAX_VALUE}, 7));
        floats.put("reshaped", Tensor.randn(rng, 1f, 6, 4).reshape(2, 3, 4));
        Map<String, LongTensor> longs = new LinkedHashMap<>();
        longs.put("input_ids", new LongTensor(new long[] {1, 151643, -100, Long.MIN_VALUE, Long.MAX_VALUE, 0}, 2, 3));
        longs.put("labels", new LongTensor(new long[] {-100}));
        longs.put("no_ids", new LongTensor(new long[0], 1, 0));
        Map<String, String> md = new LinkedHashMap<>();
        md.put("format", "pt");
        md.put("note", "caf\u00e9 \"quoted\"\n\ud83d\ude00");
        Path p = dir.resolve("rt.safetensors");
        SafeTensors.write(p, floats, longs, md);

        for (long window : new long[] {SafeTensorsFile.DEFAULT_WINDOW_BYTES, 8, 40}) {
            try (SafeTensorsFile f = SafeTensorsFile.open(p, window)) {
                assertEquals(md, f.metadata());
                assertEquals(floats.size() + longs.size(), f.names().size());
                for (Map.Entry<String, Tensor> e : floats.entrySet()) {
                    Tensor got = f.readFloat(e.getKey());
                    assertEquals(DType.F32, f.info(e.getKey()).dtype());
                    assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                    assertArrayEquals(bits(e.getValue().toFloatArray()), bits(got.toFloatArray()), e.getKey());
                }
                for (Map.Entry<String, LongTensor> e : longs.entrySet()) {
                    assertEquals(DType.I64, f.info(e.getKey()).dtype());
                    assertEquals(e.getValue(), f.readLong(e.getKey()), e.getKey());
                }
            }
        }
    }

    private static float[] f32(Path p, String name) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            return f.readFloatArray(name);
        }
    }

    @Test
    void int32RoundTripsAndWidens() throws Exception {
        int[] v = {0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 42, 7};
        Path p = dir.resolve("i32.safetensors");
        new SafeTensorsWriter().putInt("mask", v, 3, 2).write(p);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertEquals(DType.I32, f.info("mask").dtype());
            LongTensor t = f.readLong("mask");
            assertArrayEquals(new int[] {3, 2}, t.shape());
            assertArrayEquals(v, t.toIntArray());
        }
    }

    @Test
    void largeTensorCrossesWriteBuffersAndMapWindows() throws Exception {
        // 300k floats = 1.2 MB: more than the writer's 1 MiB staging buffer
        int n = 300_001;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextFloat() - 0.5f;
        long[] ids = new long[200_003];
        for (int i = 0; i < ids.length; i++) ids[i] = rng.nextLong();
        Path p = dir.resolve("big.safetensors");
        new SafeTensorsWriter().put("w", v, n).putLong("ids", ids, ids.length).write(p);
        for (long window : new long[] {SafeTensorsFile.DEFAULT_WINDOW_BYTES, 1 << 16, 4096 + 8}) {
            try (SafeTensorsFile f = SafeTensorsFile.open(p, window)) {
                assertArrayEquals(bits(v), bits(f.readFloat("w").toFloatArray()));
                assertArrayEquals(ids, f.readLong("ids").data());
            }
        }
    }

    /**
     * A tensor that starts past 2 GiB and a tensor larger than 2 GiB (one mapping cannot reach
     * either). The file is sparse: only the header and the last tensor's bytes are written.
     */
    @Test
    void offsetsBeyondTwoGiB() throws Exception {
        long big = 2L * 1_200_000_000L; // U8 [2, 1.2e9]: 2.4 GB of (sparse) zeros
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[2,1200000000],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + big + "," + (big + 12) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = dir.resolve("sparse.safetensors");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h);
            ch.write(b.flip(), 0);
            ByteBuffer tail = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).putFloat(7f);
            ch.write(tail.flip(), 8 + h.length + big);
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertEquals(big, f.info("big").byteLength());
            assertArrayEquals(new float[] {1.5f, -2f, 7f}, f.readFloat("tail").toFloatArray());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> f.readLong("big"));
            assertTrue(e.getMessage().contains("2400000000 elements, more than one Java array holds"), e.getMessage());
        }
    }

    @Test
    void cpuReadHandsOverTheDecodedArray() throws Exception {
        Path p = dir.resolve("cpu.safetensors");
        new SafeTensorsWriter().put("w", new float[] {1, 2, 3}, 3).write(p);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            Tensor t = f.readFloat("w", Backends.cpu());
            assertSame(Backends.cpu(), t.backend());
            assertArrayEquals(new float[] {1, 2, 3}, t.toFloatArray());
        }
    }

    @Test
    void headerIsPaddedCompactJsonInReferenceOrder() throws Exception {
        Path p = dir.resolve("layout.safetensors");
        new SafeTensorsWriter()
                .putInt("i", new int[] {1}, 1)
                .put("b", new float[] {1, 2}, 2)
                .putLong("z", new long[] {5}, 1)
                .put("a", new float[] {3}, 1)
                .metadata("k", "v")
                .write(p);
        byte[] file = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, n % 8, "header length " + n);
        String header = new String(file, 8, (int) n, StandardCharsets.UTF_8);
        String json = "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"z\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[20,24]}}";
        assertEquals(json, header.stripTrailing());
        assertTrue(header.substring(json.length()).chars().allMatch(c -> c == ' '));
        assertEquals(8 + n + 24, file.length);
        // data: I64 5, F32 3, F32 1 2, I32 1, little-endian
        ByteBuffer data = ByteBuffer.wrap(file, (int) (8 + n), 24).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(5L, data.getLong(0));
        assertEquals(3f, data.getFloat(8));
        assertEquals(1f, data.getFloat(12));
        assertEquals(2f, data.getFloat(16));
        assertEquals(1, data.getInt(20));
    }

    @Test
    void emptyFileHasAnEmptyObjectHeader() throws Exception {
        Path p = dir.resolve("none.safetensors");
        new SafeTensorsWriter().write(p);
        // what Python's safetensors writes for save({})
        byte[] want = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
        assertArrayEquals(want, Files.readAllBytes(p));
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertEquals(List.of(), f.names());
            assertEquals(Map.of(), f.metadata());
        }
    }

    @Test
    void rewriteReplacesTheFileAndLeavesNoTemporaries() throws Exception {
        Path p = dir.resolve("model.safetensors");
        new SafeTensorsWriter().put("w", new float[] {1}, 1).write(p);
        new SafeTensorsWriter().put("w", new float[] {2, 3}, 2).write(p);
        assertArrayEquals(new float[] {2, 3}, f32(p, "w"));
        assertEquals(List.of(p), listDir());
    }

    /** A write that fails half way leaves the old file untouched and no temporary behind. */
    @Test
    void failedWriteLeavesTheOldFile() throws Exception {
        Path p = dir.resolve("model.safetensors");
        new SafeTensorsWriter().put("w", new float[] {1}, 1).write(p);
        byte[] before = Files.readAllBytes(p);

        // a tensor on a backend whose download fails, as a lost device would; its data is
        // written after the first tensor's, so the temporary file is half written when it fails
        Backend broken = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("name")) return "broken";
                    throw new IllegalStateException("device lost");
                });
        Storage storage = new Storage() {
            @Override
            public int size() {
                return 4;
            }

            @Override
            public Backend backend() {
                return broken;
            }
        };
        SafeTensorsWriter w = new SafeTensorsWriter()
                .put("a_first", new float[300_000], 300_000)
                .put("b_broken", Tensor.of(storage, 2, 2));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write(p));
        assertEquals("device lost", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(p));
        assertEquals(List.of(p), listDir());
    }

    @Test
    void writerRejectsBadInput() {
        SafeTensorsWriter w = new SafeTensorsWriter().put("x", new float[] {1}, 1);
        String[][] cases = new String[5][];
        cases[0] = new String[] {message(() -> w.putLong("x", new long[] {1}, 1)), "tensor 'x' was already added"};
        cases[1] = new String[] {message(() -> w.put("__metadata__", new float[] {1}, 1)), "reserved"};
        cases[2] = new String[] {message(() -> w.put("y", new float[] {1, 2}, 3)), "tensor 'y': shape [3] needs 3 values, got 2"};
        cases[3] = new String[] {message(() -> w.putInt("y", new int[0], -1, 0)), "negative dimension"};
        cases[4] = new String[] {message(() -> w.metadata("k", "bad \ud800 surrogate")), "lone UTF-16 surrogate"};
        for (String[] c : cases) assertTrue(c[0].contains(c[1]), c[0]);
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void longTensorNarrowsOnlyWhatFits() {
        assertArrayEquals(new int[] {-5, 7}, new LongTensor(new long[] {-5, 7}, 2).toIntArray());
        ArithmeticException e = assertThrows(ArithmeticException.class,
                () -> new LongTensor(new long[] {1, 1L << 31}, 1, 2).toIntArray());
        assertTrue(e.getMessage().contains("2147483648 at flat index 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LongTensor(new long[3], 2, 2));
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().collect(Collectors.toList());
        }
    }
}
