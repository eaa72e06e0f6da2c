package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of broken file fails {@code open} with one message naming the file and the problem. */
class SafeTensorsCorruptionTest {
    @TempDir
    Path dir;

    private int count;

    /** A file: the length field, {@code header} (unpadded), then {@code dataBytes} bytes of data. */
    private Path file(String header, int dataBytes) throws IOException {
        return file(header.getBytes(StandardCharsets.UTF_8), header.getBytes(StandardCharsets.UTF_8).length, dataBytes);
    }

    private Path file(byte[] header, long declaredLength, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        Path p = dir.resolve("broken" + (count++) + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static String t(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private static void assertBroken(Path p, String expected) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(p).close());
        assertEquals(p, e.file());
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    @Test
    void theHelperMakesValidFiles() throws Exception {
        // the cases below differ from this one in one thing only
        Path p = file("{" + t("a", "F32", "[2,3]", 0, 24) + "," + t("b", "I64", "[]", 24, 32) + "}", 32);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            assertEquals(6, f.readFloatArray("a").length);
            assertEquals(1, f.readLong("b").numel());
        }
    }

    @Test
    void tooShortForTheLengthField() throws Exception {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[5]);
        assertBroken(p, "file is 5 bytes, too short to hold the 8-byte header length");
        Files.write(p, new byte[0]);
        assertBroken(p, "file is 0 bytes");
    }

    @Test
    void headerLengthLargerThanTheFile() throws Exception {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        assertBroken(file(h, 1000, 0), "header length 1000 is larger than the 2 bytes after the length field");
        // a u64 with the top bit set: reported unsigned, not as a negative number
        assertBroken(file(h, -1L, 0), "header length 18446744073709551615 is larger than");
    }

    @Test
    void truncatedData() throws Exception {
        String header = "{" + t("a", "F32", "[2,3]", 0, 24) + "}";
        assertBroken(file(header, 20), "tensor 'a': data_offsets [0, 24] run past the end of the data section (20 bytes; truncated file?)");
        // a real file cut short
        Path p = dir.resolve("cut.safetensors");
        new SafeTensorsWriter().put("w", new float[100], 10, 10).write(p);
        byte[] all = Files.readAllBytes(p);
        Files.write(p, Arrays.copyOf(all, all.length - 1));
        assertBroken(p, "tensor 'w': data_offsets [0, 400] run past the end of the data section (399 bytes");
        Files.write(p, Arrays.copyOf(all, 30));
        assertBroken(p, "is larger than the 22 bytes after the length field");
    }

    @Test
    void notJson() throws Exception {
        assertBroken(file("{\"a\":", 0), "header is not valid JSON: unexpected end of input");
        assertBroken(file("{'a':1}", 0), "header is not valid JSON: expected a string key");
        assertBroken(file("[1,2]   ", 0), "header is not a JSON object");
        assertBroken(file(new byte[] {'{', '"', (byte) 0xC3, '"', ':', '1', '}'}, 7, 0), "header is not valid UTF-8");
    }

    @Test
    void unknownDtype() throws Exception {
        assertBroken(file("{" + t("a", "F99", "[2]", 0, 8) + "}", 8), "tensor 'a': unknown dtype 'F99'");
        assertBroken(file("{\"a\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", 4), "tensor 'a': dtype must be a string");
    }

    @Test
    void sizeDoesNotMatchTheSpan() throws Exception {
        assertBroken(file("{" + t("a", "F32", "[2,3]", 0, 20) + "}", 20),
                "tensor 'a': dtype F32 and shape [2, 3] need 24 bytes but data_offsets [0, 20] span 20");
        // the right size for another dtype is still wrong
        assertBroken(file("{" + t("a", "F16", "[2,3]", 0, 24) + "}", 24), "dtype F16 and shape [2, 3] need 12 bytes");
    }

    @Test
    void badShapes() throws Exception {
        assertBroken(file("{" + t("a", "F32", "[-2,3]", 0, 24) + "}", 24), "tensor 'a': negative dimension -2 in shape [-2, 3]");
        assertBroken(file("{" + t("a", "F32", "[2.5]", 0, 8) + "}", 8), "expected an integer, got 2.5");
        assertBroken(file("{" + t("a", "F32", "[3000000000]", 0, 8) + "}", 8), "dimension 3000000000 in shape [3000000000] exceeds 2^31-1");
        assertBroken(file("{" + t("a", "U8", "[2147483647,2147483647,2147483647]", 0, 8) + "}", 8), "size overflows 64 bits");
        assertBroken(file("{" + t("a", "F32", "7", 0, 8) + "}", 8), "tensor 'a': shape must be an array");
    }

    @Test
    void badOffsets() throws Exception {
        assertBroken(file("{" + t("a", "F32", "[2]", 8, 0) + "}", 8), "tensor 'a': data_offsets [8, 0] are not 0 <= begin <= end");
        assertBroken(file("{" + t("a", "F32", "[2]", -8, 0) + "}", 8), "are not 0 <= begin <= end");
        assertBroken(file("{" + t("a", "F32", "[2]", 0, 99999999999999999L) + "}", 8), "run past the end of the data section");
        assertBroken(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8),
                "tensor 'a': data_offsets must be an array [begin, end]");
        assertBroken(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "tensor 'a': missing \"data_offsets\"");
    }

    @Test
    void overlapsGapsAndTrailingBytes() throws Exception {
        assertBroken(file("{" + t("a", "F32", "[2]", 0, 8) + "," + t("b", "F32", "[2]", 4, 12) + "}", 12),
                "tensor 'b' bytes [4, 12) overlap tensor 'a' bytes [0, 8)");
        assertBroken(file("{" + t("a", "F32", "[2]", 0, 8) + "," + t("b", "F32", "[2]", 0, 8) + "}", 8), "overlap");
        assertBroken(file("{" + t("a", "F32", "[1]", 0, 4) + "," + t("b", "F32", "[1]", 8, 12) + "}", 12),
                "bytes [4, 8) of the data section, before tensor 'b', belong to no tensor");
        assertBroken(file("{" + t("a", "F32", "[1]", 4, 8) + "}", 8), "bytes [0, 4) of the data section");
        assertBroken(file("{" + t("a", "F32", "[1]", 0, 4) + "}", 12),
                "the data section is 12 bytes but the tensors cover only 4");
        // empty tensors may share an offset with their neighbours
        Path ok = file("{" + t("e", "F32", "[0]", 4, 4) + "," + t("a", "F32", "[1]", 0, 4) + ","
                + t("b", "F32", "[1]", 4, 8) + "," + t("z", "I64", "[0]", 8, 8) + "}", 8);
        try (SafeTensorsFile f = SafeTensorsFile.open(ok)) {
            assertEquals(0, f.readFloatArray("e").length);
        }
    }

    @Test
    void duplicateNames() throws Exception {
        assertBroken(file("{" + t("a", "F32", "[1]", 0, 4) + "," + t("a", "F32", "[1]", 4, 8) + "}", 8),
                "duplicate key \"a\"");
    }

    @Test
    void badMetadata() throws Exception {
        assertBroken(file("{\"__metadata__\":{\"k\":1}}", 0), "metadata value of \"k\" must be a string, got 1");
        assertBroken(file("{\"__metadata__\":[]}", 0), "\"__metadata__\" must be an object of strings");
    }

    @Test
    void fileCutShortAfterOpen() throws Exception {
        Path p = dir.resolve("shrinks.safetensors");
        new SafeTensorsWriter().put("w", new float[64], 64).write(p);
        try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - 100);
            }
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> f.readFloat("w"));
            assertTrue(e.getMessage().contains("file changed size since it was opened"), e.getMessage());
        }
    }

    @Test
    void readingAfterCloseIsAnError() throws Exception {
        Path p = dir.resolve("closed.safetensors");
        new SafeTensorsWriter().put("w", new float[4], 4).write(p);
        SafeTensorsFile f = SafeTensorsFile.open(p);
        f.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.readFloat("w"));
        assertTrue(e.getMessage().contains("closed.safetensors is closed"), e.getMessage());
    }
}
