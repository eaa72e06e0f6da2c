package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer.json "post_processor": adjusts the encoding of one sequence (offset trimming,
 * special tokens around it). Supported types: TemplateProcessing, ByteLevel, Sequence.
 * Only single sequences are encoded here, so a template's "pair" part is read but not used.
 */
interface PostProcessor {
    String SUPPORTED = "TemplateProcessing, ByteLevel, Sequence";

    List<Token> process(List<Token> tokens, boolean addSpecialTokens);

    static PostProcessor fromJson(JsonNode node, String where) {
        String type = Json.type(node, where);
        switch (type) {
            case "Sequence": {
                JsonNode list = Json.array(node, "processors", where);
                List<PostProcessor> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) steps.add(fromJson(list.get(i), where + ".processors[" + i + "]"));
                return (tokens, add) -> {
                    for (PostProcessor p : steps) tokens = p.process(tokens, add);
                    return tokens;
                };
            }
            case "ByteLevel": {
                boolean trim = Json.optBool(node, "trim_offsets", true, where);
                boolean addPrefixSpace = Json.optBool(node, "add_prefix_space", true, where);
                return (tokens, add) -> {
                    if (trim) trimOffsets(tokens, addPrefixSpace);
                    return tokens;
                };
            }
            case "TemplateProcessing":
                return template(node, where);
            default:
                throw Json.unsupported(where, "post_processor", type, SUPPORTED);
        }
    }

    /**
     * ByteLevel's trim_offsets: a token's offsets stop covering its leading and trailing spaces
     * ('Ġ' or real whitespace), e.g. "Ġworld" at [5, 11) becomes [6, 11). With add_prefix_space
     * the first token keeps its single leading space, which the pre-tokenizer added itself.
     */
    static void trimOffsets(List<Token> tokens, boolean addPrefixSpace) {
        int space = ByteLevel.byteToChar(' ');
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            String v = t.value;
            // Counted in characters (code points), as the offsets are.
            int leading = 0;
            for (int k = 0; k < v.length(); ) {
                int c = v.codePointAt(k);
                if (c != space && !CharClasses.isWhiteSpace(c)) break;
                leading++;
                k += Character.charCount(c);
            }
            int trailing = 0;
            for (int k = v.length(); k > 0; ) {
                int c = v.codePointBefore(k);
                if (c != space && !CharClasses.isWhiteSpace(c)) break;
                trailing++;
                k -= Character.charCount(c);
            }
            if (leading > 0) {
                boolean first = i == 0 || t.start == 0;
                if (first && addPrefixSpace && leading == 1) leading = 0;
                t.start = Math.min(t.start + leading, t.end);
            }
            if (trailing > 0 && t.end >= trailing) t.end = Math.max(t.end - trailing, t.start);
        }
    }

    /** TemplateProcessing: "single" lists {"SpecialToken": {"id": name}} and {"Sequence": {"id": "A"}} pieces. */
    private static PostProcessor template(JsonNode node, String where) {
        JsonNode specials = Json.object(node, "special_tokens", where);
        Map<String, int[]> ids = new java.util.HashMap<>();
        Map<String, String[]> strings = new java.util.HashMap<>();
        for (var it = specials.fields(); it.hasNext(); ) {
            var e = it.next();
            String w = where + ".special_tokens." + e.getKey();
            JsonNode idList = Json.array(e.getValue(), "ids", w);
            JsonNode tokList = Json.array(e.getValue(), "tokens", w);
            if (idList.size() != tokList.size()) {
                throw new TokenizerFormatException(w + ": " + idList.size() + " ids but " + tokList.size() + " tokens");
            }
            int[] is = new int[idList.size()];
            String[] ts = new String[tokList.size()];
            for (int i = 0; i < is.length; i++) {
                if (!idList.get(i).isIntegralNumber()) throw new TokenizerFormatException(w + ".ids[" + i + "]: expected an integer");
                is[i] = idList.get(i).asInt();
                ts[i] = tokList.get(i).asText();
            }
            ids.put(e.getKey(), is);
            strings.put(e.getKey(), ts);
        }
        JsonNode single = Json.array(node, "single", where);
        List<String> pieces = new ArrayList<>(); // null = the sequence, else a special token name
        for (int i = 0; i < single.size(); i++) {
            JsonNode p = single.get(i);
            String w = where + ".single[" + i + "]";
            if (p.has("Sequence")) {
                pieces.add(null);
            } else if (p.has("SpecialToken")) {
                String id = Json.text(p.get("SpecialToken"), "id", w + ".SpecialToken");
                if (!ids.containsKey(id)) throw new TokenizerFormatException(w + ": special token \"" + id + "\" is not in special_tokens");
                pieces.add(id);
            } else {
                throw new TokenizerFormatException(w + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        return (tokens, add) -> {
            List<Token> out = new ArrayList<>(tokens.size() + pieces.size());
            for (String p : pieces) {
                if (p == null) {
                    out.addAll(tokens);
                } else if (add) {
                    int[] is = ids.get(p);
                    String[] ts = strings.get(p);
                    for (int k = 0; k < is.length; k++) out.add(new Token(is[k], ts[k], 0, 0, true));
                }
            }
            return out;
        };
    }
}
