package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pattern as HF's Split pre-tokenizer and Replace normalizer use it: a literal string, a regex
 * (Oniguruma syntax in HF), or a per-character predicate. {@link #findMatches} returns the HF
 * "Pattern::find_matches" cover of the input: consecutive [start, end) ranges, in code points,
 * flagged as match or not, together spanning the whole input.
 *
 * <p>Regexes are compiled by {@code java.util.regex} with UNICODE_CHARACTER_CLASS, which makes
 * {@code \s} = White_Space, {@code \w}/{@code \d} Unicode-aware and {@code (?i)} Unicode case
 * folding, matching Oniguruma in UTF-8 mode. {@code \p{L}}, {@code \p{N}} are Unicode in both.
 * The few spelling differences are rewritten by {@link #translateOnig}.
 * Java works on UTF-16, so indices are mapped back to code points (emoji are two chars).
 */
final class HfPattern {
    private final String literal;
    private final Pattern regex;
    private final IntPredicate predicate;
    private final boolean invert;
    private final String description;

    private HfPattern(String literal, Pattern regex, IntPredicate predicate, boolean invert, String description) {
        this.literal = literal;
        this.regex = regex;
        this.predicate = predicate;
        this.invert = invert;
        this.description = description;
    }

    static HfPattern literal(String s) {
        return new HfPattern(s, null, null, false, "String " + s);
    }

    static HfPattern regex(String onigPattern) {
        Pattern p;
        try {
            p = Pattern.compile(translateOnig(onigPattern),
                    Pattern.UNICODE_CHARACTER_CLASS | Pattern.MULTILINE | Pattern.UNIX_LINES);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new TokenizerFormatException("regex " + onigPattern + " does not compile: " + e.getDescription());
        }
        return new HfPattern(null, p, null, false, "Regex " + onigPattern);
    }

    static HfPattern chars(IntPredicate p, String description) {
        return new HfPattern(null, null, p, false, description);
    }

    HfPattern inverted() {
        return new HfPattern(literal, regex, predicate, !invert, description + " (inverted)");
    }

    /** Reads {"String": "..."} or {"Regex": "..."}. */
    static HfPattern fromJson(JsonNode node, String where) {
        if (node != null && node.isObject()) {
            if (node.has("String") && node.get("String").isTextual()) return literal(node.get("String").asText());
            if (node.has("Regex") && node.get("Regex").isTextual()) {
                try {
                    return regex(node.get("Regex").asText());
                } catch (TokenizerFormatException e) {
                    throw new TokenizerFormatException(where + ": " + e.getMessage());
                }
            }
        }
        throw new TokenizerFormatException(where + ": expected {\"String\": ...} or {\"Regex\": ...}, got "
                + (node == null ? "nothing" : node.toString()));
    }

    /**
     * Java spelling of an Oniguruma (Ruby syntax) pattern. Differences handled: {@code \h}/{@code \H}
     * are hex digits in Oniguruma (horizontal space in Java), and the inline option {@code m}
     * means "dot matches newline" (Java's {@code s}). Ruby's line-anchored {@code ^}/{@code $}
     * and newline-only {@code .} come from the MULTILINE and UNIX_LINES flags at compile time.
     */
    static String translateOnig(String p) {
        StringBuilder sb = new StringBuilder(p.length() + 8);
        int classDepth = 0;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\' && i + 1 < p.length()) {
                char n = p.charAt(++i);
                if (n == 'h') sb.append("[0-9a-fA-F]");
                else if (n == 'H') sb.append("[^0-9a-fA-F]");
                else sb.append(c).append(n);
            } else if (c == '[') {
                classDepth++;
                sb.append(c);
            } else if (c == ']' && classDepth > 0) {
                classDepth--;
                sb.append(c);
            } else if (c == '(' && classDepth == 0 && i + 2 < p.length() && p.charAt(i + 1) == '?') {
                // Inline options "(?imx-imx)" or "(?imx-imx:...)": Ruby's m is Java's s.
                int j = i + 2;
                while (j < p.length() && "imx-".indexOf(p.charAt(j)) >= 0) j++;
                if (j > i + 2 && j < p.length() && (p.charAt(j) == ':' || p.charAt(j) == ')')) {
                    sb.append("(?").append(p, i + 2, j).append(p.charAt(j));
                    for (int k = sb.length() - (j - i - 1); k < sb.length() - 1; k++) if (sb.charAt(k) == 'm') sb.setCharAt(k, 's');
                    i = j;
                } else {
                    sb.append(c);
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /**
     * Match cover of {@code cps[0..n)} as triples {start, end, isMatch(0/1)}. An empty input gives
     * one non-match (0, 0), as in HF.
     */
    List<int[]> findMatches(int[] cps, int n) {
        List<int[]> out = new ArrayList<>();
        if (n == 0) {
            out.add(new int[]{0, 0, invert ? 1 : 0});
            return out;
        }
        if (predicate != null) {
            int last = 0;
            for (int i = 0; i < n; i++) {
                if (predicate.test(cps[i])) {
                    if (last < i) add(out, last, i, false);
                    add(out, i, i + 1, true);
                    last = i + 1;
                }
            }
            if (last < n) add(out, last, n, false);
            return out;
        }
        if (literal != null) {
            int[] lit = literal.codePoints().toArray();
            if (lit.length == 0) {
                add(out, 0, n, false);
                return out;
            }
            int prev = 0;
            int i = 0;
            while (i + lit.length <= n) {
                if (regionEquals(cps, i, lit)) {
                    if (prev != i) add(out, prev, i, false);
                    add(out, i, i + lit.length, true);
                    i += lit.length;
                    prev = i;
                } else {
                    i++;
                }
            }
            if (prev != n) add(out, prev, n, false);
            return out;
        }
        // Regex: run on UTF-16 and map char indices back to code points.
        String s = new String(cps, 0, n);
        int[] cpAt = new int[s.length() + 1];
        for (int ci = 0, k = 0; ci < s.length(); k++) {
            int w = Character.charCount(s.codePointAt(ci));
            for (int j = 0; j < w; j++) cpAt[ci + j] = k;
            ci += w;
        }
        cpAt[s.length()] = n;
        Matcher m = regex.matcher(s);
        int prev = 0;
        int from = 0;
        int lastMatchEnd = -1;
        // Oniguruma's find_iter (as the Rust binding drives it): an empty match right where the
        // previous match ended is skipped by moving one character on.
        while (from <= s.length() && m.find(from)) {
            int st = m.start();
            int en = m.end();
            if (st == en && st == lastMatchEnd) {
                if (st >= s.length()) break;
                from = st + Character.charCount(s.codePointAt(st));
                continue;
            }
            int cs = cpAt[st];
            int ce = cpAt[en];
            if (prev != cs) add(out, prev, cs, false);
            add(out, cs, ce, true);
            prev = ce;
            lastMatchEnd = en;
            from = en;
        }
        if (prev != n) add(out, prev, n, false);
        return out;
    }

    private void add(List<int[]> out, int s, int e, boolean match) {
        out.add(new int[]{s, e, (match ^ invert) ? 1 : 0});
    }

    private static boolean regionEquals(int[] a, int off, int[] b) {
        for (int i = 0; i < b.length; i++) if (a[off + i] != b[i]) return false;
        return true;
    }

    @Override
    public String toString() {
        return description;
    }
}
