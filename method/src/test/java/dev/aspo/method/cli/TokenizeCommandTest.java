package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code aspo tokenize} against the ids and offsets HF {@code tokenizers} gave for the models
 * module's Llama-style fixture (byte fallback, BOS template).
 */
class TokenizeCommandTest {
    static final Path FIXTURES = Path.of("../models/src/test/resources/tokenizer");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    private static List<JsonNode> hfCases() throws Exception {
        List<JsonNode> cases = new ArrayList<>();
        JSON.readTree(FIXTURES.resolve("llama_fallback.expected.json").toFile()).get("cases").forEach(cases::add);
        return cases;
    }

    @Test
    void textPrintsHfIdsAndOffsets() throws Exception {
        JsonNode c = hfCases().stream().filter(n -> n.get("text").asText().equals("Hello world ")).findFirst().orElseThrow();
        assertEquals(0, run("tokenize", "--tokenizer", FIXTURES.resolve("llama_fallback.json").toString(), "--text", "Hello world "));
        JsonNode got = JSON.readTree(out.toString());
        assertEquals(c.get("ids"), got.get("ids"));
        assertEquals(c.get("offsets"), got.get("offsets"));
    }

    @Test
    void jsonlPrintsOneObjectPerLineInOrder() throws Exception {
        List<JsonNode> cases = hfCases();
        StringBuilder lines = new StringBuilder();
        for (JsonNode c : cases) lines.append(JSON.writeValueAsString(c.get("text").asText())).append('\n');
        Path in = dir.resolve("texts.jsonl");
        Files.writeString(in, lines);
        assertEquals(0, run("tokenize", "--tokenizer", FIXTURES.resolve("llama_fallback.json").toString(), "--jsonl", in.toString()));
        String[] got = out.toString().split("\n");
        assertEquals(cases.size(), got.length);
        for (int i = 0; i < got.length; i++) {
            JsonNode g = JSON.readTree(got[i]);
            assertEquals(cases.get(i).get("ids"), g.get("ids"), "line " + (i + 1));
            assertEquals(cases.get(i).get("offsets"), g.get("offsets"), "line " + (i + 1));
        }
    }

    @Test
    void aLineThatIsNotAJsonStringIsOneErrorWithFileAndLine() throws Exception {
        Path in = dir.resolve("bad.jsonl");
        Files.writeString(in, "\"ok\"\n{\"text\": 1}\n");
        int code = run("tokenize", "--tokenizer", FIXTURES.resolve("llama_fallback.json").toString(), "--jsonl", in.toString());
        assertNotEquals(0, code);
        String e = err.toString().trim();
        assertTrue(e.contains(in + ":2: expected a JSON string") && !e.contains("\n"), e);
    }

    @Test
    void textAndJsonlTogetherAreRejected() {
        assertEquals(2, run("tokenize", "--tokenizer", "x.json", "--text", "a", "--jsonl", "b.jsonl"));
    }
}
