package dev.aspo.method.sentences;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Splits a response into sentences (ASPO step 1), as code-point spans that partition the text.
 *
 * <pre>
 *   "The cube is red. It sits at (0, 1)!\n- A ball, e.g. a sphere."
 *    [----------------][------------------][----------------------]
 *   whitespace after a sentence end belongs to that sentence; the spans tile the text
 * </pre>
 *
 * <p>What ends a sentence:
 * <ul>
 *   <li>a run of {@code . ! ? …} followed (after any closing quotes and brackets, which stay
 *       with the sentence) by whitespace. {@code 。！？} need no whitespace after them;</li>
 *   <li>a newline (so every line of a bulleted or numbered list is its own sentence);</li>
 *   <li>a bullet ({@code • ◦ ‣ ▪ ● ■ ➢ ➤}) after whitespace in the middle of a line.</li>
 * </ul>
 * What does not:
 * <ul>
 *   <li>a dot without whitespace after it: decimals ({@code 3.5}), {@code e.g.,}, file and host names;</li>
 *   <li>a single dot after a title or a "followed by anything" abbreviation ({@code Mr. Dr. vs.
 *       cf. ...}), after an initial ({@code J. Smith}) or a dotted abbreviation ({@code e.g. i.e.
 *       U.S. a.m. Ph.D.});</li>
 *   <li>a single dot after {@code etc. approx. et al. No. Fig. ...}, and an ellipsis ({@code ...},
 *       {@code …}), unless the next word starts with a capital (or a letter without case, such as
 *       CJK): "etc. and so on" stays one sentence, "etc. Then" is two;</li>
 *   <li>a terminator inside a closing quote or bracket when the next word is lower-case
 *       ({@code "Stop!" she said});</li>
 *   <li>the marker of a numbered or lettered list item at the start of a sentence ({@code 1. },
 *       {@code 2) }, {@code a) });</li>
 *   <li>anything before the sentence has content (a letter, digit or symbol): leading
 *       punctuation, blank lines and markers never make a sentence of their own.</li>
 * </ul>
 *
 * <p>Guarantees, for every input: the spans are non-empty, contiguous, start at 0 and end at the
 * text's length (none for the empty text); every span has content unless the whole text has
 * none (then it is one span); splitting the text of one span gives that span back.
 */
public final class SentenceSplitter {
    /** Abbreviations after which a single dot never ends a sentence (titles precede a capitalised name). */
    private static final Set<String> NEVER_ENDS = Set.of("mr", "mrs", "ms", "dr", "prof", "rev", "hon", "gen", "col",
            "capt", "lt", "sgt", "st", "mt", "vs", "cf", "viz");
    /** Abbreviations that end a sentence only when a capitalised word follows. */
    private static final Set<String> ENDS_BEFORE_CAPITAL = Set.of("etc", "approx", "al", "inc", "ltd", "co", "corp",
            "jr", "sr", "no", "nos", "fig", "figs", "vol", "eq", "eqs", "pp", "ca", "resp", "est");

    private final int[] cp;
    private final int n;

    private SentenceSplitter(String text) {
        this.cp = text.codePoints().toArray();
        this.n = cp.length;
    }

    /** The sentences of {@code text} as code-point spans (empty list for the empty text). */
    public static List<Span> split(String text) {
        return new SentenceSplitter(text).scan();
    }

    private List<Span> scan() {
        List<Span> spans = new ArrayList<>();
        int start = 0, i = 0;
        boolean content = false;   // the current sentence has a letter, digit or symbol so far
        while (i < n) {
            int c = cp[i];
            if (!content) {
                int m = listMarkerEnd(i);
                if (m > i) {   // "1. " is a marker, not a sentence end
                    i = m;
                    continue;
                }
            }
            if (isNewline(c)) {
                int j = skipSpace(i);   // the line break (and the next line's indent) stays with this sentence
                if (content && j < n) {
                    spans.add(new Span(start, j));
                    start = j;
                    content = false;
                }
                i = j;
                continue;
            }
            if (isTerminator(c)) {
                int runEnd = i;
                while (runEnd < n && isTerminator(cp[runEnd])) runEnd++;
                int j = runEnd;
                while (j < n && isCloser(cp[j])) j++;
                if (content && endsSentence(i, runEnd, j)) {
                    int k = skipSpace(j);
                    if (k < n) {
                        spans.add(new Span(start, k));
                        start = k;
                        content = false;
                    }
                    i = k;
                } else {
                    i = j;
                }
                continue;
            }
            if (content && isBullet(c) && isSpace(cp[i - 1])) {   // content implies i > 0
                spans.add(new Span(start, i));
                start = i;
                content = false;
                i++;
                continue;
            }
            if (isContent(c)) content = true;
            i++;
        }
        if (start < n) {
            if (!content && !spans.isEmpty()) {   // trailing punctuation or spaces join the last sentence
                Span last = spans.remove(spans.size() - 1);
                spans.add(new Span(last.start(), n));
            } else {
                spans.add(new Span(start, n));
            }
        }
        return spans;
    }

    /**
     * Whether the terminator run {@code [i, runEnd)}, with closing quotes/brackets up to {@code j},
     * ends the current sentence (which has content).
     */
    private boolean endsSentence(int i, int runEnd, int j) {
        boolean cjk = isCjkTerminator(cp[runEnd - 1]);
        if (!cjk && j < n && !isSpace(cp[j])) return false;            // 3.5, e.g.,, example.com, Hi!Bye
        if (j > runEnd && nextIsLowerCase(j)) return false;            // "Stop!" she said
        boolean strong = cjk;
        boolean ellipsis = runEnd - i >= 2;
        for (int k = i; k < runEnd; k++) {
            int c = cp[k];
            if (c == '!' || c == '?' || isCjkTerminator(c)) strong = true;
            if (c == '\u2026') ellipsis = true;
        }
        if (strong) return true;
        if (ellipsis) return nextStartsSentence(j);
        String word = wordBefore(i);
        String lower = word.toLowerCase(Locale.ROOT);
        if (NEVER_ENDS.contains(lower) || isDottedAbbreviation(word) || isInitial(word)) return false;
        if (ENDS_BEFORE_CAPITAL.contains(lower)) return nextStartsSentence(j);
        return true;
    }

    /** The letters, digits and inner dots right before position {@code i} ("e.g" before "e.g."). */
    private String wordBefore(int i) {
        int k = i;
        while (k > 0 && (Character.isLetterOrDigit(cp[k - 1]) || cp[k - 1] == '.')) k--;
        while (k < i && cp[k] == '.') k++;
        return new String(cp, k, i - k);
    }

    /** "e.g", "i.e", "U.S", "a.m", "Ph.D": letters in segments of at most two, with inner dots. */
    private static boolean isDottedAbbreviation(String word) {
        if (word.indexOf('.') < 0) return false;
        for (String part : word.split("\\.", -1)) {
            if (part.isEmpty() || part.codePointCount(0, part.length()) > 2 || !part.codePoints().allMatch(Character::isLetter)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isInitial(String word) {
        return word.codePointCount(0, word.length()) == 1 && Character.isUpperCase(word.codePointAt(0));
    }

    /** The first word after {@code j} (past spaces and opening quotes/brackets) starts with a capital or a caseless letter. */
    private boolean nextStartsSentence(int j) {
        int k = skipOpeners(skipSpace(j));
        if (k >= n) return false;
        int c = cp[k];
        return Character.isUpperCase(c) || Character.isTitleCase(c) || (Character.isLetter(c) && !Character.isLowerCase(c));
    }

    private boolean nextIsLowerCase(int j) {
        int k = skipOpeners(skipSpace(j));
        return k < n && Character.isLowerCase(cp[k]);
    }

    /**
     * The end of a list-item marker at {@code i} ("1. ", "12) ", "a) ", "B. ", "- ", "* ", "+ "), the
     * marker's own character(s) only; {@code i} when there is none.
     */
    private int listMarkerEnd(int i) {
        int c = cp[i];
        if (c == '-' || c == '*' || c == '+') return followedBySpace(i + 1) ? i + 1 : i;
        int k = i;
        if (c < 128 && Character.isDigit(c)) {
            while (k < n && k - i < 3 && cp[k] < 128 && Character.isDigit(cp[k])) k++;
        } else if (c < 128 && Character.isLetter(c)) {
            k = i + 1;
        } else {
            return i;
        }
        if (k < n && (cp[k] == '.' || cp[k] == ')') && followedBySpace(k + 1)) return k + 1;
        return i;
    }

    private boolean followedBySpace(int k) {
        return k == n || isSpace(cp[k]);
    }

    private int skipSpace(int k) {
        while (k < n && isSpace(cp[k])) k++;
        return k;
    }

    private int skipOpeners(int k) {
        while (k < n && isOpener(cp[k])) k++;
        return k;
    }

    // ---- character classes ----------------------------------------------------------------------

    static boolean isTerminator(int c) {
        return c == '.' || c == '!' || c == '?' || c == '\u2026' || isCjkTerminator(c);
    }

    private static boolean isCjkTerminator(int c) {
        return c == '\u3002' || c == '\uFF01' || c == '\uFF1F';   // 。！？
    }

    private static boolean isCloser(int c) {
        return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' || c == '\u201D' || c == '\u2019'
                || c == '\u00BB' || c == '\u203A' || c == '\uFF09' || c == '\u300D' || c == '\u300F' || c == '\u3011'
                || c == '\u3009' || c == '\u300B' || c == '\u3015';
    }

    private static boolean isOpener(int c) {
        return c == '"' || c == '\'' || c == '(' || c == '[' || c == '{' || c == '\u201C' || c == '\u2018'
                || c == '\u00AB' || c == '\u2039' || c == '\uFF08' || c == '\u300C' || c == '\u300E' || c == '\u3010'
                || c == '\u3008' || c == '\u300A' || c == '\u3014';
    }

    private static boolean isBullet(int c) {
        return c == '\u2022' || c == '\u25E6' || c == '\u2023' || c == '\u25AA' || c == '\u25CF' || c == '\u25A0'
                || c == '\u27A2' || c == '\u27A4';
    }

    private static boolean isNewline(int c) {
        return c == '\n' || c == '\r' || c == '\u000B' || c == '\u000C' || c == '\u0085' || c == '\u2028' || c == '\u2029';
    }

    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    /** A letter, digit, mark or symbol (bullets aside): what makes a sentence more than punctuation and space. */
    static boolean isContent(int c) {
        if (isSpace(c) || isBullet(c)) return false;
        switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION, Character.CONTROL, Character.FORMAT, Character.UNASSIGNED,
                    Character.SURROGATE, Character.PRIVATE_USE -> {
                return false;
            }
            default -> {
                return true;
            }
        }
    }
}
