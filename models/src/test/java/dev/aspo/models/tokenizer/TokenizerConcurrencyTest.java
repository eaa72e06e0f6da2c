package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** One tokenizer shared by several threads (the word cache is the only mutable state) gives the sequential results. */
class TokenizerConcurrencyTest {
    @Test
    void sharedTokenizerEncodesTheSameFromManyThreads() throws Exception {
        Tokenizer tok = Tokenizer.fromFile(TokenizerParityTest.resource("bytelevel_split.json"));
        List<String> texts = new ArrayList<>();
        for (JsonNode s : TokenizerParityTest.readJson("tricky_strings.json")) texts.add(s.asText());
        List<Encoding> sequential = new ArrayList<>();
        for (String t : texts) sequential.add(Tokenizer.fromFile(TokenizerParityTest.resource("bytelevel_split.json")).encode(t));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<Encoding>>> futures = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                futures.add(pool.submit(() -> {
                    List<Encoding> out = new ArrayList<>();
                    for (int rep = 0; rep < 20; rep++) {
                        out.clear();
                        for (String t : texts) out.add(tok.encode(t));
                    }
                    return out;
                }));
            }
            for (Future<List<Encoding>> f : futures) assertEquals(sequential, f.get());
        } finally {
            pool.shutdownNow();
        }
    }
}
