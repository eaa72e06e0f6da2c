package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer.json "normalizer": rewrites text before pre-tokenization, keeping alignments.
 * Supported types: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip.
 */
interface TextNormalizer {
    String SUPPORTED = "Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip";

    void normalize(NormalizedString s);

    static TextNormalizer fromJson(JsonNode node, String where) {
        String type = Json.type(node, where);
        switch (type) {
            case "Sequence": {
                JsonNode list = Json.array(node, "normalizers", where);
                List<TextNormalizer> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) steps.add(fromJson(list.get(i), where + ".normalizers[" + i + "]"));
                return s -> {
                    for (TextNormalizer step : steps) step.normalize(s);
                };
            }
            case "Prepend": {
                String prepend = Json.text(node, "prepend", where);
                return s -> s.prepend(prepend);
            }
            case "Replace": {
                HfPattern pattern = HfPattern.fromJson(node.get("pattern"), where + ".pattern");
                String content = Json.text(node, "content", where);
                return s -> s.replace(pattern, content);
            }
            case "NFC":
                return s -> s.unicodeNormalize(java.text.Normalizer.Form.NFC);
            case "NFD":
                return s -> s.unicodeNormalize(java.text.Normalizer.Form.NFD);
            case "NFKC":
                return s -> s.unicodeNormalize(java.text.Normalizer.Form.NFKC);
            case "NFKD":
                return s -> s.unicodeNormalize(java.text.Normalizer.Form.NFKD);
            case "Lowercase":
                return NormalizedString::lowercase;
            case "Strip": {
                boolean left = Json.optBool(node, "strip_left", true, where);
                boolean right = Json.optBool(node, "strip_right", true, where);
                return s -> s.strip(left, right);
            }
            default:
                throw Json.unsupported(where, "normalizer", type, SUPPORTED);
        }
    }
}
