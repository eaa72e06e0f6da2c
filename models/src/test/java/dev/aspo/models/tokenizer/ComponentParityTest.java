package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Single components against HF tokenizers (isolated_components.json, made by
 * make_tokenizer_fixtures.py): normalizer outputs ({@code normalize_str}), pre-tokenizer words
 * with their code-point offsets ({@code pre_tokenize_str}) and decoder outputs, for the variants
 * the whole-tokenizer fixtures do not reach (split behaviours, invert, prepend schemes, Strip...).
 */
class ComponentParityTest {
    static JsonNode fixture() throws IOException {
        return TokenizerParityTest.readJson("isolated_components.json");
    }

    static List<String> strings(JsonNode fx) {
        List<String> out = new ArrayList<>();
        fx.get("strings").forEach(s -> out.add(s.asText()));
        return out;
    }

    @Test
    void normalizersMatchHf() throws IOException {
        JsonNode fx = fixture();
        List<String> texts = strings(fx);
        List<String> problems = new ArrayList<>();
        for (JsonNode n : fx.get("normalizers")) {
            TextNormalizer norm = TextNormalizer.fromJson(n.get("config"), "normalizer");
            for (int i = 0; i < texts.size(); i++) {
                NormalizedString s = NormalizedString.of(texts.get(i).codePoints().toArray());
                norm.normalize(s);
                String want = n.get("outputs").get(i).asText();
                if (!s.get().equals(want)) problems.add(n.get("config") + " on " + i + ": " + s.get() + " != " + want);
            }
        }
        assertTrue(fx.get("normalizers").size() >= 10);
        assertEquals(List.of(), problems);
    }

    @Test
    void unicodeNormalizerAlignmentsMatchHf() throws IOException {
        JsonNode fx = fixture();
        List<String> problems = new ArrayList<>();
        int cases = 0;
        for (JsonNode n : fx.get("normalizer_alignments")) {
            TextNormalizer norm = TextNormalizer.fromJson(n.get("config"), "normalizer");
            for (JsonNode c : n.get("cases")) {
                cases++;
                NormalizedString s = NormalizedString.of(c.get("text").asText().codePoints().toArray());
                norm.normalize(s);
                StringBuilder got = new StringBuilder(s.get());
                for (int i = 0; i < s.length(); i++) got.append(" [").append(s.originalStart(i, i + 1)).append(',').append(s.originalEnd(i, i + 1)).append(')');
                StringBuilder want = new StringBuilder(c.get("normalized").asText());
                for (JsonNode o : c.get("offsets")) want.append(" [").append(o.get(0).asInt()).append(',').append(o.get(1).asInt()).append(')');
                if (!got.toString().equals(want.toString())) problems.add(n.get("config") + ": " + got + " != " + want);
            }
        }
        assertTrue(cases >= 100);
        assertEquals(List.of(), problems);
    }

    @Test
    void preTokenizersMatchHf() throws IOException {
        JsonNode fx = fixture();
        List<String> texts = strings(fx);
        List<String> problems = new ArrayList<>();
        for (JsonNode p : fx.get("pre_tokenizers")) {
            PreTokenizer pre = PreTokenizer.fromJson(p.get("config"), "pre_tokenizer");
            for (int i = 0; i < texts.size(); i++) {
                List<NormalizedString> words = new ArrayList<>();
                NormalizedString s = NormalizedString.of(texts.get(i).codePoints().toArray());
                if (!s.isEmpty()) pre.preTokenize(s, words);
                List<String> got = new ArrayList<>();
                for (NormalizedString w : words) {
                    got.add(w.get() + " [" + w.originalStart(0, w.length()) + "," + w.originalEnd(0, w.length()) + ")");
                }
                List<String> want = new ArrayList<>();
                for (JsonNode w : p.get("outputs").get(i)) {
                    want.add(w.get(0).asText() + " [" + w.get(1).asInt() + "," + w.get(2).asInt() + ")");
                }
                if (!got.equals(want)) problems.add(p.get("config") + " on " + i + ": " + got + " != " + want);
            }
        }
        assertTrue(fx.get("pre_tokenizers").size() >= 15);
        assertEquals(List.of(), problems);
    }

    @Test
    void decodersMatchHf() throws IOException {
        JsonNode fx = fixture();
        List<String> problems = new ArrayList<>();
        for (JsonNode d : fx.get("decoders")) {
            Decoder dec = Decoder.fromJson(d.get("config"), "decoder");
            for (JsonNode c : d.get("cases")) {
                List<String> tokens = new ArrayList<>();
                c.get("tokens").forEach(t -> tokens.add(t.asText()));
                String got = String.join("", dec.decodeChain(tokens));
                if (!got.equals(c.get("decoded").asText())) {
                    problems.add(d.get("config") + " on " + tokens + ": " + got + " != " + c.get("decoded").asText());
                }
            }
        }
        assertTrue(fx.get("decoders").size() >= 9);
        assertEquals(List.of(), problems);
    }
}
