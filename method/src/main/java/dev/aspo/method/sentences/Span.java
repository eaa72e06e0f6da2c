package dev.aspo.method.sentences;

/**
 * A range {@code [start, end)} of a text in Unicode code points (Python string indices), the unit
 * of the tokenizer's offsets ({@link dev.aspo.models.tokenizer.Encoding}).
 */
public record Span(int start, int end) {
    public Span {
        if (start < 0 || end < start) throw new IllegalArgumentException("bad span [" + start + ", " + end + ")");
    }

    public int length() {
        return end - start;
    }

    public boolean contains(int codePoint) {
        return codePoint >= start && codePoint < end;
    }

    /** The spanned part of {@code text} (code-point offsets converted to chars). */
    public String text(String text) {
        int from = text.offsetByCodePoints(0, start);
        return text.substring(from, text.offsetByCodePoints(from, end - start));
    }

    @Override
    public String toString() {
        return "[" + start + ", " + end + ")";
    }
}
