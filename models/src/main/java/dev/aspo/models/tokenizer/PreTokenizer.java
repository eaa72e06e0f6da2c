package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer.json "pre_tokenizer": cuts a normalized piece into words for the model (and may
 * rewrite them, as ByteLevel does). Empty words are dropped, as HF does after every split.
 * Supported types: ByteLevel, Split, Sequence, Digits, Metaspace.
 */
interface PreTokenizer {
    String SUPPORTED = "ByteLevel, Split, Sequence, Digits, Metaspace";

    /** Appends the non-empty words of {@code piece} to {@code out}. */
    void preTokenize(NormalizedString piece, List<NormalizedString> out);

    static PreTokenizer fromJson(JsonNode node, String where) {
        String type = Json.type(node, where);
        switch (type) {
            case "Sequence": {
                JsonNode list = Json.array(node, "pretokenizers", where);
                List<PreTokenizer> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) steps.add(fromJson(list.get(i), where + ".pretokenizers[" + i + "]"));
                return (piece, out) -> {
                    List<NormalizedString> cur = List.of(piece);
                    for (PreTokenizer step : steps) {
                        List<NormalizedString> next = new ArrayList<>();
                        for (NormalizedString s : cur) step.preTokenize(s, next);
                        cur = next;
                    }
                    out.addAll(cur);
                };
            }
            case "ByteLevel":
                return byteLevel(Json.optBool(node, "add_prefix_space", true, where),
                        Json.optBool(node, "use_regex", true, where));
            case "Split": {
                HfPattern pattern = HfPattern.fromJson(node.get("pattern"), where + ".pattern");
                if (Json.optBool(node, "invert", false, where)) pattern = pattern.inverted();
                NormalizedString.SplitBehavior behavior = behavior(Json.text(node, "behavior", where), where);
                HfPattern p = pattern;
                return (piece, out) -> addNonEmpty(piece.split(p, behavior), out);
            }
            case "Digits": {
                boolean individual = Json.optBool(node, "individual_digits", false, where);
                HfPattern digits = HfPattern.chars(CharClasses::isNumeric, "numeric characters");
                NormalizedString.SplitBehavior b = individual ? NormalizedString.SplitBehavior.ISOLATED
                        : NormalizedString.SplitBehavior.CONTIGUOUS;
                return (piece, out) -> addNonEmpty(piece.split(digits, b), out);
            }
            case "Metaspace":
                return metaspace(node, where);
            default:
                throw Json.unsupported(where, "pre_tokenizer", type, SUPPORTED);
        }
    }

    /**
     * GPT-2's pre-tokenizer: optionally a leading space (so "hello" and " hello" give the same
     * word), the GPT-2 regex split, then every character rewritten as its UTF-8 bytes' characters.
     */
    static PreTokenizer byteLevel(boolean addPrefixSpace, boolean useRegex) {
        HfPattern gpt2 = HfPattern.regex(ByteLevel.GPT2_PATTERN);
        return (piece, out) -> {
            if (addPrefixSpace && !piece.startsWith(' ')) piece.prepend(" ");
            List<NormalizedString> words = useRegex ? piece.split(gpt2, NormalizedString.SplitBehavior.ISOLATED)
                    : List.of(piece);
            for (NormalizedString w : words) {
                if (w.isEmpty()) continue;
                w.byteLevel();
                out.add(w);
            }
        };
    }

    /** SentencePiece's view: spaces become the replacement ("▁"), words start at each "▁". */
    private static PreTokenizer metaspace(JsonNode node, String where) {
        String rep = Json.text(node, "replacement", where);
        if (rep.codePointCount(0, rep.length()) != 1) {
            throw new TokenizerFormatException(where + ".replacement: expected one character, got \"" + rep + "\"");
        }
        int replacement = rep.codePointAt(0);
        String scheme = Json.optText(node, "prepend_scheme", where);
        if (scheme == null) scheme = Json.optBool(node, "add_prefix_space", true, where) ? "always" : "never";
        if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never")) {
            throw new TokenizerFormatException(where + ".prepend_scheme: expected always, first or never, got \"" + scheme + "\"");
        }
        boolean split = Json.optBool(node, "split", true, where);
        String sch = scheme;
        HfPattern space = HfPattern.literal(" ");
        HfPattern rc = HfPattern.chars(c -> c == replacement, "the replacement character");
        return (piece, out) -> {
            piece.replace(space, rep);
            boolean prepend = sch.equals("always") || (sch.equals("first") && piece.originalShift() == 0);
            if (prepend && !piece.startsWith(replacement)) piece.prepend(rep);
            if (split) addNonEmpty(piece.split(rc, NormalizedString.SplitBehavior.MERGED_WITH_NEXT), out);
            else if (!piece.isEmpty()) out.add(piece);
        };
    }

    private static void addNonEmpty(List<NormalizedString> words, List<NormalizedString> out) {
        for (NormalizedString w : words) if (!w.isEmpty()) out.add(w);
    }

    private static NormalizedString.SplitBehavior behavior(String name, String where) {
        switch (name) {
            case "Removed":
                return NormalizedString.SplitBehavior.REMOVED;
            case "Isolated":
                return NormalizedString.SplitBehavior.ISOLATED;
            case "MergedWithPrevious":
                return NormalizedString.SplitBehavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext":
                return NormalizedString.SplitBehavior.MERGED_WITH_NEXT;
            case "Contiguous":
                return NormalizedString.SplitBehavior.CONTIGUOUS;
            default:
                throw new TokenizerFormatException(where + ".behavior: unknown split behavior \"" + name
                        + "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
        }
    }
}
