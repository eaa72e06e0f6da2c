package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BPE trainer: hand-computed merges on tiny corpora, determinism, save/load round trip, and
 * parity of HF tokenizers reading our trained file (trained_tokenizer.json, checked by
 * models/src/test/python/check_trained_tokenizer.py, which wrote trained_tokenizer.expected.json).
 *
 * <p>To regenerate trained_tokenizer.json after a deliberate trainer change:
 * <pre>
 *   mvn -o -q test -pl models -am -Dtest=BpeTrainerTest -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dtokenizer.writeTrained=$PWD/models/src/test/resources/tokenizer/trained_tokenizer.json
 *   /work/venv/bin/python models/src/test/python/check_trained_tokenizer.py
 * </pre>
 */
class BpeTrainerTest {
    static final List<String> SPECIALS = List.of("<|endoftext|>", "<image>");

    static BpeTrainer fixtureTrainer() {
        return new BpeTrainer(400, 2, SPECIALS).withBosToken("<|endoftext|>");
    }

    static List<String> corpus() throws IOException {
        return Files.readAllLines(TokenizerParityTest.resource("corpus.txt"), StandardCharsets.UTF_8);
    }

    static List<String> merges(Tokenizer t) {
        List<String> out = new ArrayList<>();
        for (JsonNode m : readTree(t).get("model").get("merges")) {
            out.add(m.get(0).asText() + " " + m.get(1).asText());
        }
        return out;
    }

    static JsonNode readTree(Tokenizer t) {
        try {
            return TokenizerParityTest.MAPPER.readTree(t.toJson());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void mergesTheMostFrequentPairFirstAndStopsAtMinFrequency() {
        // Words: "ab", "Ġab" x2, "Ġabc". Pairs: (a,b)=4, (Ġ,a)=3, (b,c)=1.
        // Merge 1: a+b (4). Then (Ġ,ab)=3, (ab,c)=1. Merge 2: Ġ+ab (3). Then (Ġab,c)=1 < 2: stop.
        Tokenizer t = new BpeTrainer(1000, 2, List.of()).train(List.of("ab ab ab abc"));
        assertEquals(List.of("a b", "Ġ ab"), merges(t));
        assertEquals(256 + 2, t.vocabSize());
        assertEquals(256, t.tokenToId("ab"));
        assertEquals(257, t.tokenToId("Ġab"));
        // min frequency 1 takes the last pair too.
        Tokenizer t1 = new BpeTrainer(1000, 1, List.of()).train(List.of("ab ab ab abc"));
        assertEquals(List.of("a b", "Ġ ab", "Ġab c"), merges(t1));
    }

    @Test
    void breaksTiesBySmallestPairIdsLikeHf() {
        // Words "xy", "Ġzw": every pair occurs once. Ids follow code points: w < x < y < z < Ġ.
        // Smallest left id first: (x,y), then (z,w), then (Ġ,zw) which the second merge created.
        Tokenizer t = new BpeTrainer(1000, 1, List.of()).train(List.of("xy zw"));
        assertEquals(List.of("x y", "z w", "Ġ zw"), merges(t));
    }

    @Test
    void stopsAtTheVocabularySizeAndNumbersSpecialTokensFirst() {
        Tokenizer t = new BpeTrainer(2 + 256 + 3, 1, SPECIALS).train(List.of("the theme of the thesis is these themes"));
        assertEquals(2 + 256 + 3, t.vocabSize());
        assertEquals(0, t.tokenToId("<|endoftext|>"));
        assertEquals(1, t.tokenToId("<image>"));
        assertEquals(3, merges(t).size());
        assertTrue(t.isSpecial(1));
        // The byte alphabet follows, in code-point order: '!' (byte 0x21) is the first.
        assertEquals(2, t.tokenToId("!"));
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(100, 1, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(300, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(300, 1, List.of("a", "a")));
        assertThrows(IllegalArgumentException.class, () -> new BpeTrainer(300, 1, List.of("a")).withBosToken("<s>"));
    }

    @Test
    void savedFileLoadsBackAndRoundTrips(@TempDir Path dir) throws IOException {
        Tokenizer trained = fixtureTrainer().train(corpus());
        Path file = dir.resolve("tokenizer.json");
        trained.save(file);
        Tokenizer loaded = Tokenizer.fromFile(file);
        assertEquals(trained.vocabSize(), loaded.vocabSize());
        JsonNode tricky = TokenizerParityTest.readJson("tricky_strings.json");
        for (JsonNode s : tricky) {
            String text = s.asText();
            Encoding a = trained.encode(text, true);
            Encoding b = loaded.encode(text, true);
            assertEquals(a, b, text);
            // Byte-level BPE is lossless: decoding gives the text back (specials kept).
            assertEquals(text, loaded.decode(loaded.encode(text, false).ids(), false), text);
            assertEquals(0, a.id(0), "BOS first");
        }
    }

    @Test
    void trainingIsDeterministicAndMatchesTheFileHfChecked() throws IOException {
        Tokenizer trained = fixtureTrainer().train(corpus());
        String target = System.getProperty("tokenizer.writeTrained");
        if (target != null && !target.isEmpty()) trained.save(Path.of(target));
        String committed = Files.readString(TokenizerParityTest.resource("trained_tokenizer.json"), StandardCharsets.UTF_8);
        assertEquals(committed, trained.toJson(), "trainer output differs from the committed, HF-checked file");
        assertEquals(trained.toJson(), fixtureTrainer().train(corpus()).toJson());
    }

    @Test
    void hfEncodesOurTrainedFileLikeWeDo() throws IOException {
        Tokenizer ours = Tokenizer.fromFile(TokenizerParityTest.resource("trained_tokenizer.json"));
        JsonNode expected = TokenizerParityTest.readJson("trained_tokenizer.expected.json");
        assertTrue(expected.get("cases").size() >= 40);
        List<String> problems = TokenizerParityTest.compare(ours, expected);
        assertEquals(List.of(), problems, problems.size() + " mismatches with HF tokenizers on our trained file");
    }
}
