package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A broken or unsupported tokenizer.json fails with one line naming the file and the problem. */
class TokenizerLoadErrorTest {
    @TempDir
    Path dir;

    /** Writes a copy of the gpt2_legacy fixture changed by {@code edit} and loads it. */
    TokenizerFormatException loadEdited(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) TokenizerParityTest.readJson("gpt2_legacy.json");
        edit.accept(root);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, TokenizerParityTest.MAPPER.writeValueAsString(root));
        return assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromFile(file));
    }

    static void assertOneLineNaming(TokenizerFormatException e, String... parts) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), "one line: " + m);
        assertTrue(m.contains("tokenizer.json"), "names the file: " + m);
        for (String p : parts) assertTrue(m.contains(p), "mentions " + p + ": " + m);
    }

    @Test
    void malformedJson() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\", ");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class, () -> Tokenizer.fromFile(file));
        assertOneLineNaming(e, "not valid JSON", "line 1");
    }

    @Test
    void unsupportedComponentsAreNamed() throws IOException {
        assertOneLineNaming(loadEdited(r -> r.putObject("normalizer").put("type", "BertNormalizer")),
                "normalizer", "BertNormalizer");
        assertOneLineNaming(loadEdited(r -> r.putObject("pre_tokenizer").put("type", "Whitespace")),
                "pre_tokenizer", "Whitespace");
        assertOneLineNaming(loadEdited(r -> ((ArrayNode) r.get("post_processor").get("processors")).addObject()
                .put("type", "RobertaProcessing")), "post_processor.processors[2]", "RobertaProcessing");
        assertOneLineNaming(loadEdited(r -> r.putObject("decoder").put("type", "WordPiece")), "decoder", "WordPiece");
        assertOneLineNaming(loadEdited(r -> ((ObjectNode) r.get("model")).put("type", "WordPiece")), "model", "WordPiece");
        assertOneLineNaming(loadEdited(r -> r.putObject("padding").put("strategy", "BatchLongest")), "padding");
        assertOneLineNaming(loadEdited(r -> ((ObjectNode) r.get("model")).put("dropout", 0.1)), "dropout");
    }

    @Test
    void inconsistentModelsAreNamed() throws IOException {
        assertOneLineNaming(loadEdited(r -> ((ArrayNode) r.get("model").get("merges")).insert(0, "Ġ zzz")),
                "model.merges[0]", "zzz", "not in the vocab");
        assertOneLineNaming(loadEdited(r -> ((ArrayNode) r.get("model").get("merges")).insert(3, "nospace")),
                "model.merges[3]", "nospace");
        assertOneLineNaming(loadEdited(r -> ((ObjectNode) r.get("model")).remove("vocab")), "model", "vocab");
        assertOneLineNaming(loadEdited(r -> r.remove("model")), "missing field \"model\"");
        assertOneLineNaming(loadEdited(r -> ((ObjectNode) r.get("model")).put("unk_token", "<nope>")),
                "model.unk_token", "<nope>");
        assertOneLineNaming(loadEdited(r -> ((ObjectNode) r.get("added_tokens").get(0)).remove("content")),
                "added_tokens[0]", "content");
        assertOneLineNaming(loadEdited(r -> r.putObject("pre_tokenizer").put("type", "Split")
                .put("behavior", "Isolated").putObject("pattern").put("Regex", "(unclosed")), "pre_tokenizer.pattern", "(unclosed");
        assertOneLineNaming(loadEdited(r -> r.put("version", "2.0")), "version", "2.0");
    }

    @Test
    void missingFileIsAnIoError() {
        Path missing = dir.resolve("nope/tokenizer.json");
        Exception e = assertThrows(java.io.UncheckedIOException.class, () -> Tokenizer.fromFile(missing));
        assertTrue(e.getMessage().contains(missing.toString()));
    }

    @Test
    void fixtureItselfLoads() {
        Tokenizer t = Tokenizer.fromFile(TokenizerParityTest.resource("gpt2_legacy.json"));
        assertEquals(383, t.vocabSize());
    }
}
