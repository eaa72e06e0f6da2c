package dev.aspo.models.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A piece of text being normalized, with the alignment of every normalized character back to the
 * original input, so that token offsets can be reported on the text the user gave.
 *
 * <pre>
 *   original   "Hi you"             (code points 0..6)
 *   normalized "▁Hi▁you"            Prepend("▁") then Replace(" ", "▁")
 *   align      [0,1) [0,1) [1,2) [2,3) [3,4) ...
 *               ^ prepended "▁" shares the alignment of 'H'
 * </pre>
 *
 * This follows HF's {@code NormalizedString} except that positions are code points rather than
 * UTF-8 bytes: HF aligns every byte of a character to the whole original character, and Python
 * reports code-point offsets, so counting in code points gives the same answers without the
 * byte bookkeeping. Alignments are absolute positions in the original input, which makes a slice
 * simply a copy of a range.
 */
final class NormalizedString {
    /** How the delimiter of a split is kept (HF's SplitDelimiterBehavior). */
    enum SplitBehavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    private int[] cps;
    private int[] alignStart;
    private int[] alignEnd;
    private int n;
    /** Start of this piece in the original input (HF's original_shift). */
    private final int originalShift;

    private NormalizedString(int[] cps, int[] alignStart, int[] alignEnd, int n, int originalShift) {
        this.cps = cps;
        this.alignStart = alignStart;
        this.alignEnd = alignEnd;
        this.n = n;
        this.originalShift = originalShift;
    }

    static NormalizedString of(int[] cps) {
        int n = cps.length;
        int[] s = new int[n];
        int[] e = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = i;
            e[i] = i + 1;
        }
        return new NormalizedString(cps.clone(), s, e, n, 0);
    }

    int length() {
        return n;
    }

    boolean isEmpty() {
        return n == 0;
    }

    int codePointAt(int i) {
        return cps[i];
    }

    /** The normalized code points; the array may be longer than {@link #length()}. */
    int[] codePoints() {
        return cps;
    }

    String get() {
        return new String(cps, 0, n);
    }

    int originalShift() {
        return originalShift;
    }

    boolean startsWith(int cp) {
        return n > 0 && cps[0] == cp;
    }

    /** Original range [start, end) covered by normalized range [s, e) (non-empty). */
    int originalStart(int s, int e) {
        int m = Integer.MAX_VALUE;
        for (int i = s; i < e; i++) m = Math.min(m, alignStart[i]);
        return m;
    }

    int originalEnd(int s, int e) {
        int m = Integer.MIN_VALUE;
        for (int i = s; i < e; i++) m = Math.max(m, alignEnd[i]);
        return m;
    }

    /** A copy of normalized range [s, e), keeping alignments. */
    NormalizedString slice(int s, int e) {
        int shift = s < e ? originalStart(s, e) : originalShift + s;
        return new NormalizedString(Arrays.copyOfRange(cps, s, e), Arrays.copyOfRange(alignStart, s, e),
                Arrays.copyOfRange(alignEnd, s, e), e - s, shift);
    }

    /**
     * HF's {@code transform_range}: replaces normalized range [start, end) by {@code dest}, where
     * {@code changes[k]} says what dest[k] does: 0 replaces the next original character (and takes
     * its alignment), 1 is inserted (and shares the alignment of the character before it), -m
     * replaces the next character and removes m more. {@code initialOffset} characters at the
     * start of the range are removed before anything else.
     */
    void transformRange(int start, int end, int[] dest, int[] changes, int destLen, int initialOffset) {
        int[] ns = new int[destLen];
        int[] ne = new int[destLen];
        int idx = start + initialOffset;
        for (int k = 0; k < destLen; k++) {
            int ch = changes[k];
            if (ch > 0) {
                if (idx < 1) {
                    ns[k] = 0;
                    ne[k] = 0;
                } else {
                    ns[k] = alignStart[idx - 1];
                    ne[k] = alignEnd[idx - 1];
                }
            } else {
                if (idx >= n) throw new IllegalStateException("transform consumes past the end of the text");
                ns[k] = alignStart[idx];
                ne[k] = alignEnd[idx];
                idx += 1 - ch;
            }
        }
        int newN = n - (end - start) + destLen;
        int[] c2 = new int[newN];
        int[] s2 = new int[newN];
        int[] e2 = new int[newN];
        System.arraycopy(cps, 0, c2, 0, start);
        System.arraycopy(alignStart, 0, s2, 0, start);
        System.arraycopy(alignEnd, 0, e2, 0, start);
        System.arraycopy(dest, 0, c2, start, destLen);
        System.arraycopy(ns, 0, s2, start, destLen);
        System.arraycopy(ne, 0, e2, start, destLen);
        System.arraycopy(cps, end, c2, start + destLen, n - end);
        System.arraycopy(alignStart, end, s2, start + destLen, n - end);
        System.arraycopy(alignEnd, end, e2, start + destLen, n - end);
        cps = c2;
        alignStart = s2;
        alignEnd = e2;
        n = newN;
    }

    /** Prepends {@code s}; the new characters share the alignment of the first character. */
    void prepend(String s) {
        if (n == 0 || s.isEmpty()) return;
        int[] add = s.codePoints().toArray();
        int[] dest = new int[add.length + 1];
        int[] changes = new int[add.length + 1];
        System.arraycopy(add, 0, dest, 0, add.length);
        dest[add.length] = cps[0];
        for (int k = 1; k < dest.length; k++) changes[k] = 1;
        transformRange(0, 1, dest, changes, dest.length, 0);
    }

    /**
     * Replaces every match of {@code pattern} by {@code content} (HF's {@code replace}). HF applies
     * one transform per match; the effect on alignments is the same as this single pass: the
     * content's characters all take the alignment of the last matched character (for an empty
     * match, of the character before it).
     */
    void replace(HfPattern pattern, String content) {
        int[] with = content.codePoints().toArray();
        List<int[]> matches = pattern.findMatches(cps, n);
        int cap = n;
        for (int[] m : matches) if (m[2] == 1) cap += with.length;
        int[] c2 = new int[cap];
        int[] s2 = new int[cap];
        int[] e2 = new int[cap];
        int k = 0;
        int pos = 0;
        boolean changed = false;
        for (int[] m : matches) {
            if (m[2] == 0) continue;
            changed = true;
            int len = m[0] - pos;
            System.arraycopy(cps, pos, c2, k, len);
            System.arraycopy(alignStart, pos, s2, k, len);
            System.arraycopy(alignEnd, pos, e2, k, len);
            k += len;
            int as;
            int ae;
            if (m[1] > m[0]) {
                as = alignStart[m[1] - 1];
                ae = alignEnd[m[1] - 1];
            } else if (k > 0) {
                as = s2[k - 1];
                ae = e2[k - 1];
            } else {
                as = 0;
                ae = 0;
            }
            for (int c : with) {
                c2[k] = c;
                s2[k] = as;
                e2[k++] = ae;
            }
            pos = m[1];
        }
        if (!changed) return;
        int len = n - pos;
        System.arraycopy(cps, pos, c2, k, len);
        System.arraycopy(alignStart, pos, s2, k, len);
        System.arraycopy(alignEnd, pos, e2, k, len);
        k += len;
        cps = c2;
        alignStart = s2;
        alignEnd = e2;
        n = k;
    }

    /** HF's {@code split}: cuts around the matches of {@code pattern}, keeping them per behaviour. */
    List<NormalizedString> split(HfPattern pattern, SplitBehavior behavior) {
        List<int[]> matches = pattern.findMatches(cps, n);
        List<int[]> ranges = new ArrayList<>(); // {start, end, remove}
        switch (behavior) {
            case ISOLATED:
                for (int[] m : matches) ranges.add(new int[]{m[0], m[1], 0});
                break;
            case REMOVED:
                for (int[] m : matches) ranges.add(new int[]{m[0], m[1], m[2]});
                break;
            case CONTIGUOUS: {
                boolean prevMatch = false;
                for (int[] m : matches) {
                    boolean isMatch = m[2] == 1;
                    if (isMatch == prevMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[1] = m[1];
                    else ranges.add(new int[]{m[0], m[1], 0});
                    prevMatch = isMatch;
                }
                break;
            }
            case MERGED_WITH_PREVIOUS: {
                boolean prevMatch = false;
                for (int[] m : matches) {
                    boolean isMatch = m[2] == 1;
                    if (isMatch && !prevMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[1] = m[1];
                    else ranges.add(new int[]{m[0], m[1], 0});
                    prevMatch = isMatch;
                }
                break;
            }
            case MERGED_WITH_NEXT: {
                boolean prevMatch = false;
                for (int i = matches.size() - 1; i >= 0; i--) {
                    int[] m = matches.get(i);
                    boolean isMatch = m[2] == 1;
                    if (isMatch && !prevMatch && !ranges.isEmpty()) ranges.get(ranges.size() - 1)[0] = m[0];
                    else ranges.add(new int[]{m[0], m[1], 0});
                    prevMatch = isMatch;
                }
                java.util.Collections.reverse(ranges);
                break;
            }
            default:
                throw new IllegalStateException(behavior.toString());
        }
        List<NormalizedString> out = new ArrayList<>(ranges.size());
        for (int[] r : ranges) if (r[2] == 0) out.add(slice(r[0], r[1]));
        return out;
    }

    /** Removes leading and/or trailing White_Space; the kept characters keep their alignments. */
    void strip(boolean left, boolean right) {
        int s = 0;
        int e = n;
        if (left) while (s < e && CharClasses.isWhiteSpace(cps[s])) s++;
        if (right) while (e > s && CharClasses.isWhiteSpace(cps[e - 1])) e--;
        if (s == 0 && e == n) return;
        cps = Arrays.copyOfRange(cps, s, e);
        alignStart = Arrays.copyOfRange(alignStart, s, e);
        alignEnd = Arrays.copyOfRange(alignEnd, s, e);
        n = e - s;
    }

    /** Lowercases each character with the full (context-free) Unicode mapping, as Rust does. */
    void lowercase() {
        int[] dest = new int[n + 8];
        int[] changes = new int[n + 8];
        int k = 0;
        for (int i = 0; i < n; i++) {
            int c = cps[i];
            int lower = Character.toLowerCase(c);
            if (c == 0x130) { // 'İ' is the one character whose lowercase is two: "i̇"
                int[] two = new String(Character.toChars(c)).toLowerCase(Locale.ROOT).codePoints().toArray();
                for (int j = 0; j < two.length; j++) {
                    if (k == dest.length) {
                        dest = Arrays.copyOf(dest, dest.length * 2);
                        changes = Arrays.copyOf(changes, changes.length * 2);
                    }
                    dest[k] = two[j];
                    changes[k++] = j > 0 ? 1 : 0;
                }
            } else {
                if (k == dest.length) {
                    dest = Arrays.copyOf(dest, dest.length * 2);
                    changes = Arrays.copyOf(changes, changes.length * 2);
                }
                dest[k] = lower;
                changes[k++] = 0;
            }
        }
        transformRange(0, n, dest, changes, k, 0);
    }

    /**
     * Unicode normalization (NFC, NFD, NFKC, NFKD) with the alignments HF reports. HF's
     * normalizer emits a change per output character, and alignments follow from the changes'
     * order (see {@link #transformRange}); the changes are rebuilt here step by step:
     *
     * <pre>
     *   decompose each character alone     "é" "̣"  ->  e(0) ◌́(+1) ◌̣(0)
     *   canonical reordering (by class),   ->  e(0) ◌̣(0) ◌́(+1)     the changes travel with
     *     changes travel with characters                            their characters
     *   compose (NFC/NFKC): a composite    ->  ẹ(0+0-1) ◌́(+1)      ẹ aligns to "é", ◌́ to "◌̣"
     *     sums its parts' changes minus one per absorbed character
     * </pre>
     *
     * Java's Normalizer gives the reordered and composed strings; which character went where is
     * recovered by matching occurrences in order (reordering is stable, and a composite's
     * canonical decomposition names the characters it absorbed).
     */
    void unicodeNormalize(Normalizer.Form form) {
        String s = get();
        if (Normalizer.isNormalized(s, form)) return;
        boolean compat = form == Normalizer.Form.NFKC || form == Normalizer.Form.NFKD;
        boolean compose = form == Normalizer.Form.NFC || form == Normalizer.Form.NFKC;
        Normalizer.Form decomposition = compat ? Normalizer.Form.NFKD : Normalizer.Form.NFD;

        // 1. Each character decomposed alone: first part change 0, the others +1.
        List<int[]> parts = new ArrayList<>(); // {code point, change}
        for (int i = 0; i < n; i++) {
            int[] d = Normalizer.normalize(new String(Character.toChars(cps[i])), decomposition).codePoints().toArray();
            for (int j = 0; j < d.length; j++) parts.add(new int[]{d[j], j == 0 ? 0 : 1});
        }
        // 2. Canonical order = the decomposition of the whole text; match occurrences in order.
        int[] ordered = Normalizer.normalize(s, decomposition).codePoints().toArray();
        java.util.Map<Integer, java.util.ArrayDeque<int[]>> byChar = new java.util.HashMap<>();
        for (int[] p : parts) byChar.computeIfAbsent(p[0], k -> new java.util.ArrayDeque<>()).add(p);
        int[] change = new int[ordered.length];
        for (int k = 0; k < ordered.length; k++) {
            java.util.ArrayDeque<int[]> q = byChar.get(ordered[k]);
            if (q == null || q.isEmpty()) throw new IllegalStateException("decomposition mismatch at " + k);
            change[k] = q.poll()[1];
        }
        int[] dest = ordered;
        int[] changes = change;
        if (compose) {
            // 3. Composition: each output character covers the unused decomposed characters of
            //    its own canonical decomposition, the first at the earliest unused position.
            int[] out = Normalizer.normalize(new String(ordered, 0, ordered.length), Normalizer.Form.NFC)
                    .codePoints().toArray();
            boolean[] used = new boolean[ordered.length];
            int[] outChanges = new int[out.length];
            int first = 0;
            for (int k = 0; k < out.length; k++) {
                while (first < ordered.length && used[first]) first++;
                int[] d = out[k] == ordered[first] ? new int[]{out[k]}
                        : Normalizer.normalize(new String(Character.toChars(out[k])), Normalizer.Form.NFD).codePoints().toArray();
                if (ordered[first] != d[0]) throw new IllegalStateException("composition mismatch at " + k);
                used[first] = true;
                int c = change[first];
                int at = first;
                for (int j = 1; j < d.length; j++) {
                    at++;
                    while (at < ordered.length && (used[at] || ordered[at] != d[j])) at++;
                    if (at >= ordered.length) throw new IllegalStateException("composition mismatch at " + k);
                    used[at] = true;
                    c += change[at] - 1;
                }
                outChanges[k] = c;
            }
            dest = out;
            changes = outChanges;
        }
        transformRange(0, n, dest, changes, dest.length, 0);
    }

    /** Maps every character to the GPT-2 byte characters of its UTF-8 bytes (ByteLevel). */
    void byteLevel() {
        int total = 0;
        for (int i = 0; i < n; i++) total += Utf8.length(cps[i]);
        if (total == n) {
            // ASCII only: a one-to-one character map, alignments unchanged.
            for (int i = 0; i < n; i++) cps[i] = ByteLevel.byteToChar(cps[i]);
            return;
        }
        int[] dest = new int[total];
        int[] changes = new int[total];
        byte[] buf = new byte[4];
        int k = 0;
        for (int i = 0; i < n; i++) {
            int len = Utf8.encode(cps[i], buf, 0);
            for (int j = 0; j < len; j++) {
                dest[k] = ByteLevel.byteToChar(buf[j]);
                changes[k++] = j > 0 ? 1 : 0;
            }
        }
        transformRange(0, n, dest, changes, total, 0);
    }
}
