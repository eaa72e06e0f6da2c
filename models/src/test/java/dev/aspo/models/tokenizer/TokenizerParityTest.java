package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity with HF tokenizers 0.23.2 on the fixtures made by
 * models/src/test/python/make_tokenizer_fixtures.py: for each tricky string, the ids, token
 * strings, code-point offsets and special-tokens mask (with and without special tokens), decode
 * output with and without skipping special tokens, plus decoding of random id sequences. All
 * mismatches of a fixture are reported together.
 */
class TokenizerParityTest {
    static final ObjectMapper MAPPER = new ObjectMapper();

    static Path resource(String name) {
        try {
            var url = TokenizerParityTest.class.getResource("/tokenizer/" + name);
            if (url == null) throw new IllegalStateException("missing test resource tokenizer/" + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode readJson(String name) throws IOException {
        return MAPPER.readTree(resource(name).toFile());
    }

    static int[] ints(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
        return out;
    }

    static int[] withoutTemplateTokens(int[] ids, int[] mask) {
        return java.util.stream.IntStream.range(0, ids.length).filter(i -> mask[i] == 0).map(i -> ids[i]).toArray();
    }

    /** Compares one expected-results file (cases + decode_cases) against {@code tok}. */
    static List<String> compare(Tokenizer tok, JsonNode expected) {
        List<String> problems = new ArrayList<>();
        if (expected.has("vocab_size") && expected.get("vocab_size").asInt() != tok.vocabSize()) {
            problems.add("vocab size " + tok.vocabSize() + " != " + expected.get("vocab_size").asInt());
        }
        for (JsonNode c : expected.get("cases")) {
            String text = c.get("text").asText();
            String label = "text " + MAPPER.valueToTree(text) + ": ";
            Encoding e = tok.encode(text, true);
            int[] ids = ints(c.get("ids"));
            if (!Arrays.equals(ids, e.ids())) {
                problems.add(label + "ids " + Arrays.toString(e.ids()) + " != HF " + Arrays.toString(ids));
                continue;
            }
            // Absent when every token is the vocabulary string of its id (the fixture script checked).
            List<String> tokens = new ArrayList<>();
            if (c.has("tokens")) c.get("tokens").forEach(t -> tokens.add(t.asText()));
            else for (int id : ids) tokens.add(tok.idToToken(id));
            if (!tokens.equals(e.tokens())) problems.add(label + "tokens " + e.tokens() + " != HF " + tokens);
            JsonNode offs = c.get("offsets");
            for (int i = 0; i < e.size(); i++) {
                int s = offs.get(i).get(0).asInt();
                int en = offs.get(i).get(1).asInt();
                if (e.start(i) != s || e.end(i) != en) {
                    problems.add(label + "token " + i + " '" + e.tokens().get(i) + "' offsets [" + e.start(i) + ","
                            + e.end(i) + ") != HF [" + s + "," + en + ")");
                }
            }
            if (!Arrays.equals(ints(c.get("special_tokens_mask")), e.specialTokensMask())) {
                problems.add(label + "special mask " + Arrays.toString(e.specialTokensMask()));
            }
            int[] plain = tok.encode(text, false).ids();
            // Absent when HF dropped exactly the template tokens (the fixture script checked).
            int[] expectedPlain = c.has("ids_no_special") ? ints(c.get("ids_no_special"))
                    : withoutTemplateTokens(ids, ints(c.get("special_tokens_mask")));
            if (!Arrays.equals(expectedPlain, plain)) {
                problems.add(label + "ids without specials " + Arrays.toString(plain));
            }
            String dec = tok.decode(ids, false);
            if (!dec.equals(c.get("decoded").asText())) {
                problems.add(label + "decode " + MAPPER.valueToTree(dec) + " != HF " + c.get("decoded"));
            }
            String decSkip = tok.decode(ids, true);
            if (!decSkip.equals(c.get("decoded_skip_special").asText())) {
                problems.add(label + "decode(skip) " + MAPPER.valueToTree(decSkip) + " != HF " + c.get("decoded_skip_special"));
            }
        }
        if (expected.has("long_cases")) {
            for (JsonNode c : expected.get("long_cases")) {
                Encoding e = tok.encode(c.get("text").asText(), true);
                int[] ids = ints(c.get("ids"));
                if (!Arrays.equals(ids, e.ids())) {
                    problems.add("long text: ids differ (" + e.size() + " tokens vs HF " + ids.length + ")");
                    continue;
                }
                for (int i = 0; i < e.size(); i++) {
                    JsonNode o = c.get("offsets").get(i);
                    if (e.start(i) != o.get(0).asInt() || e.end(i) != o.get(1).asInt()) {
                        problems.add("long text: token " + i + " offsets [" + e.start(i) + "," + e.end(i) + ") != HF " + o);
                        break;
                    }
                }
            }
        }
        if (expected.has("decode_cases")) {
            for (JsonNode c : expected.get("decode_cases")) {
                int[] ids = ints(c.get("ids"));
                String dec = tok.decode(ids, false);
                if (!dec.equals(c.get("decoded").asText())) {
                    problems.add("decode " + Arrays.toString(ids) + " = " + MAPPER.valueToTree(dec) + " != HF " + c.get("decoded"));
                }
                String decSkip = tok.decode(ids, true);
                if (!decSkip.equals(c.get("decoded_skip_special").asText())) {
                    problems.add("decode(skip) " + Arrays.toString(ids) + " = " + MAPPER.valueToTree(decSkip) + " != HF "
                            + c.get("decoded_skip_special"));
                }
            }
        }
        return problems;
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytelevel_split", "llama_fallback", "gpt2_legacy", "components"})
    void matchesHuggingFace(String name) throws IOException {
        Tokenizer tok = Tokenizer.fromFile(resource(name + ".json"));
        JsonNode expected = readJson(name + ".expected.json");
        assertTrue(expected.get("cases").size() >= 40, "fixture has its cases");
        List<String> problems = compare(tok, expected);
        assertEquals(List.of(), problems, name + ": " + problems.size() + " mismatches with HF tokenizers");
    }
}
