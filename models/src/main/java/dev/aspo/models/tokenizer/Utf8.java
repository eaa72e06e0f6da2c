package dev.aspo.models.tokenizer;

/**
 * UTF-8 helpers with Rust's semantics, which HF tokenizers inherits: byte-level and byte-fallback
 * decoding produce arbitrary byte strings, and {@code String::from_utf8_lossy} replaces each
 * "maximal subpart" of an ill-formed sequence by one U+FFFD (Unicode's recommended practice).
 */
final class Utf8 {
    private Utf8() {
    }

    static int length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    /** Writes the UTF-8 bytes of {@code cp} at {@code out[pos]}; returns the count. */
    static int encode(int cp, byte[] out, int pos) {
        if (cp < 0x80) {
            out[pos] = (byte) cp;
            return 1;
        } else if (cp < 0x800) {
            out[pos] = (byte) (0xC0 | (cp >> 6));
            out[pos + 1] = (byte) (0x80 | (cp & 0x3F));
            return 2;
        } else if (cp < 0x10000) {
            out[pos] = (byte) (0xE0 | (cp >> 12));
            out[pos + 1] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[pos + 2] = (byte) (0x80 | (cp & 0x3F));
            return 3;
        }
        out[pos] = (byte) (0xF0 | (cp >> 18));
        out[pos + 1] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        out[pos + 2] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        out[pos + 3] = (byte) (0x80 | (cp & 0x3F));
        return 4;
    }

    static byte[] encode(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Rust's {@code String::from_utf8_lossy}. */
    static String decodeLossy(byte[] b, int n) {
        StringBuilder sb = new StringBuilder(n);
        int i = 0;
        while (i < n) {
            int len = validSequenceLength(b, i, n);
            if (len > 0) {
                sb.appendCodePoint(decodeAt(b, i, len));
                i += len;
            } else {
                sb.append('\uFFFD');
                i += -len;
            }
        }
        return sb.toString();
    }

    /** Rust's {@code String::from_utf8}: null when the bytes are not valid UTF-8. */
    static String decodeStrict(byte[] b, int n) {
        StringBuilder sb = new StringBuilder(n);
        int i = 0;
        while (i < n) {
            int len = validSequenceLength(b, i, n);
            if (len <= 0) return null;
            sb.appendCodePoint(decodeAt(b, i, len));
            i += len;
        }
        return sb.toString();
    }

    /**
     * Length of the well-formed sequence starting at {@code i} (positive), or minus the length of
     * the maximal ill-formed subpart to replace by one U+FFFD (negative), following the table of
     * well-formed byte sequences (Unicode 3.9, table 3-7) as Rust's decoder does.
     */
    private static int validSequenceLength(byte[] b, int i, int n) {
        int first = b[i] & 0xFF;
        if (first < 0x80) return 1;
        int width;
        int lo = 0x80;
        int hi = 0xBF;
        if (first >= 0xC2 && first <= 0xDF) {
            width = 2;
        } else if (first >= 0xE0 && first <= 0xEF) {
            width = 3;
            if (first == 0xE0) lo = 0xA0;
            if (first == 0xED) hi = 0x9F;
        } else if (first >= 0xF0 && first <= 0xF4) {
            width = 4;
            if (first == 0xF0) lo = 0x90;
            if (first == 0xF4) hi = 0x8F;
        } else {
            return -1;
        }
        if (i + 1 >= n) return -1;
        int second = b[i + 1] & 0xFF;
        if (second < lo || second > hi) return -1;
        for (int k = 2; k < width; k++) {
            if (i + k >= n) return -k;
            int c = b[i + k] & 0xFF;
            if (c < 0x80 || c > 0xBF) return -k;
        }
        return width;
    }

    private static int decodeAt(byte[] b, int i, int len) {
        int c = b[i] & 0xFF;
        switch (len) {
            case 1:
                return c;
            case 2:
                return ((c & 0x1F) << 6) | (b[i + 1] & 0x3F);
            case 3:
                return ((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
            default:
                return ((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F);
        }
    }
}
