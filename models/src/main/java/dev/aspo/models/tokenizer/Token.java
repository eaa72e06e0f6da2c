package dev.aspo.models.tokenizer;

/** One token while an encoding is assembled: id, string, original offsets, and whether a post-processor added it. */
final class Token {
    final int id;
    final String value;
    int start;
    int end;
    final boolean special;

    Token(int id, String value, int start, int end, boolean special) {
        this.id = id;
        this.value = value;
        this.start = start;
        this.end = end;
        this.special = special;
    }
}
