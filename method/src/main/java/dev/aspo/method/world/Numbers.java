package dev.aspo.method.world;

import java.util.List;

/** Small counts as words and digits: "one".."nine", "1".."9". */
final class Numbers {
    static final List<String> WORDS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");

    private Numbers() {
    }

    /** The count a lower-case word states, or -1 when it states none. */
    static int read(String word) {
        int i = WORDS.indexOf(word);
        if (i >= 0) return i;
        if (word.length() == 1 && Character.isDigit(word.charAt(0))) return word.charAt(0) - '0';
        return -1;
    }
}
