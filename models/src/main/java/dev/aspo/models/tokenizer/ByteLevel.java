package dev.aspo.models.tokenizer;

/**
 * GPT-2's reversible byte-to-character map. Byte-level BPE works on UTF-8 bytes, but vocabularies
 * are strings, so every byte is shown as a printable character: the printable Latin-1 bytes
 * ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves and the other 68 bytes (controls, space,
 * DEL, NBSP, soft hyphen...) are moved to U+0100 upwards in byte order. So the space is 'Ġ'
 * (U+0120) and the newline 'Ċ' (U+010A).
 */
final class ByteLevel {
    private ByteLevel() {
    }

    /** GPT-2's pre-tokenization regex, used by the ByteLevel pre-tokenizer when use_regex is set. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private static final int[] BYTE_TO_CHAR = new int[256];
    /** Inverse map indexed by character (all mapped characters are below U+0144); -1 = none. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int c = printable ? b : next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    static int byteToChar(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a mapped character stands for, or -1 if {@code c} is not one of the 256. */
    static int charToByte(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The 256 mapped characters, in byte order. */
    static int[] alphabet() {
        return BYTE_TO_CHAR.clone();
    }
}
