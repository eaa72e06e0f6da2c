package dev.aspo.models.tokenizer;

/**
 * Character predicates with the Unicode definitions Rust uses (and thus HF tokenizers), which
 * differ from Java's {@link Character#isWhitespace} (that one excludes no-break spaces and
 * includes the information separators U+001C..U+001F).
 */
final class CharClasses {
    private CharClasses() {
    }

    /** Unicode White_Space, as Rust's {@code char::is_whitespace} and regex {@code \s}. */
    static boolean isWhiteSpace(int c) {
        if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
        if (c < 0x85) return false;
        return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029
                || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    /** Rust's {@code char::is_numeric}: general categories Nd, Nl, No. */
    static boolean isNumeric(int c) {
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /**
     * Unicode {@code \w} (UTS #18 / Rust regex): Alphabetic, marks, decimal digits, connector
     * punctuation, Join_Control.
     */
    static boolean isWordChar(int c) {
        if (Character.isAlphabetic(c)) return true;
        int t = Character.getType(c);
        return t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK || t == Character.ENCLOSING_MARK
                || t == Character.DECIMAL_DIGIT_NUMBER || t == Character.CONNECTOR_PUNCTUATION || c == 0x200C || c == 0x200D;
    }
}
