package dev.aspo.method.world;

import java.util.List;

/** Counts as words ("zero".."nine", "single") and digits ("0", "12", ...). */
final class Numbers {
    static final List<String> WORDS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");

    private Numbers() {
    }

    /** The count a lower-case word states, or -1 when it states none. */
    static int read(String word) {
        int i = WORDS.indexOf(word);
        if (i >= 0) return i;
        if (word.equals("single")) return 1;
        if (word.isEmpty() || word.length() > 9) return -1;
        for (int k = 0; k < word.length(); k++) if (word.charAt(k) < '0' || word.charAt(k) > '9') return -1;
        return Integer.parseInt(word);
    }
}
