package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchAndReferenceTest {
    private static final Tokenizer TOK = Tiny.tokenizer();
    private static final int EOS = TOK.tokenToId("<eos>");

    @Test
    void sequencesArePromptResponseEosWithSentenceIdsFromTheResponseOffsets() {
        SequenceEncoder enc = new SequenceEncoder(TOK, EOS, 64);
        Sequence s = enc.encode("Describe the cube.", "A red cube. It is small.", "f:1");
        int[] prompt = TOK.encode("Describe the cube.", true).ids();
        int[] response = TOK.encode("A red cube. It is small.", false).ids();
        assertEquals(prompt.length, s.promptLength());
        assertEquals(TOK.tokenToId("<bos>"), s.ids()[0]);
        assertArrayEquals(prompt, Arrays.copyOf(s.ids(), prompt.length));
        assertArrayEquals(response, Arrays.copyOfRange(s.ids(), prompt.length, s.ids().length - 1));
        assertEquals(EOS, s.ids()[s.ids().length - 1]);
        assertEquals(List.of("A red cube. ", "It is small."), s.sentences());
        int[] ids = s.sentenceIds();
        assertEquals(response.length + 1, ids.length);
        assertEquals(0, ids[0]);
        assertEquals(1, ids[ids.length - 1]);   // EOS goes with the last sentence
        // the first token of sentence 1 is the one whose text starts at "It"
        int firstOfSecond = 0;
        while (ids[firstOfSecond] == 0) firstOfSecond++;
        assertTrue(TOK.decode(Arrays.copyOfRange(response, firstOfSecond, response.length), false).startsWith(" It"));
        assertTrue(TOK.decode(Arrays.copyOf(response, firstOfSecond), false).endsWith("cube."));

        DatasetException e = assertThrows(DatasetException.class, () -> new SequenceEncoder(TOK, EOS, 8).encode("p", "A red cube. It is small.", "f:3"));
        assertTrue(e.getMessage().startsWith("f:3: ") && e.getMessage().contains("exceed max_length 8"), e.getMessage());
    }

    @Test
    void batchTargetsAndMasks() {
        SequenceEncoder enc = new SequenceEncoder(TOK, EOS, 64);
        Sequence a = enc.encode("Describe.", "A cube.", "f:1"), b = enc.encode("Describe the ball please.", "A red ball. It is big.", "f:2");
        Batch batch = new Batch(List.of(a, b), 0);
        assertEquals(b.ids().length, batch.seq);
        int t = batch.seq;
        for (int r = 0; r < 2; r++) {
            Sequence s = r == 0 ? a : b;
            for (int i = 0; i < t; i++) {
                assertEquals(i < s.ids().length ? 1f : 0f, batch.attentionMask[r * t + i]);
                boolean target = i + 1 >= s.promptLength() && i + 1 < s.ids().length;
                assertEquals(target ? s.ids()[i + 1] : -100, batch.targets[r * t + i]);
                assertEquals(target ? s.sentenceIds()[i + 1 - s.promptLength()] : -1, batch.sentenceIds[r * t + i]);
            }
        }
        assertEquals(a.ids().length + b.ids().length, batch.tokens);
    }

    @Test
    void logProbsDoNotDependOnPadding() {
        LlamaPolicy policy = new LlamaPolicy(Tiny.model(TOK, 5));
        SequenceEncoder enc = new SequenceEncoder(TOK, EOS, 64);
        Sequence shortOne = enc.encode("Describe.", "A cube.", "f:1");
        Sequence longOne = enc.encode("Describe the ball please, now.", "A red ball. It is big. It sits on the left.", "f:2");
        try (var g = Autograd.noGrad()) {
            Batch alone = new Batch(List.of(shortOne), policy.padId());
            Batch padded = new Batch(List.of(longOne, shortOne), policy.padId());
            float[] a = TokenLogProbs.of(policy.logits(alone), alone.targets).toFloatArray();
            float[] p = TokenLogProbs.of(policy.logits(padded), padded.targets).toFloatArray();
            float[] row = Arrays.copyOfRange(p, padded.seq, padded.seq + alone.seq);
            assertArrayEquals(a, row, 0f);   // the same numbers (bit for bit where there is a target; zeros elsewhere)
            for (int i = 0; i < alone.seq; i++) {
                if (alone.targets[i] >= 0) assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(row[i]));
            }
            for (int i = alone.seq; i < padded.seq; i++) assertEquals(0f, p[padded.seq + i], 0f);
        }
    }

    @Test
    void cachedReferenceGivesTheFrozenCopysNumbersAndTheSameRun(@TempDir Path dir) throws IOException {
        LlamaPolicy ref = new LlamaPolicy(Tiny.model(TOK, 11));
        SequenceEncoder enc = new SequenceEncoder(TOK, EOS, 64);
        List<Sequence> seqs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            seqs.add(enc.encode("Describe " + "the ".repeat(i) + "cube.", "A red cube." + " It is small.".repeat(i % 3), "f:" + i));
            seqs.add(i == 3 ? null : enc.encode("Describe.", "A blue ball.", "f:" + i));
        }
        CachedReference cached = CachedReference.loadOrCompute(dir, "k", ref, seqs, 3);
        assertTrue(Files.isRegularFile(dir.resolve("ref-logps-k.safetensors")));
        CachedReference reloaded = CachedReference.loadOrCompute(dir, "k", null, seqs, 3);   // no model: must come from disk
        FrozenReference frozen = new FrozenReference(ref);
        int[][] batches = {{0, 5, 2}, {9, 1}, {4, 8, 6, 0}};
        for (int[] keys : batches) {
            List<Sequence> rows = new ArrayList<>();
            for (int k : keys) rows.add(seqs.get(k));
            Batch b = new Batch(rows, ref.padId());
            float[] want = frozen.logps(b, keys);
            // bit for bit at every position with a target; elsewhere both are zero (the frozen path's is -0.0: -CE of 0)
            assertArrayEquals(want, cached.logps(b, keys), 0f);
            assertArrayEquals(want, reloaded.logps(b, keys), 0f);
            for (int i = 0; i < want.length; i++) {
                if (b.targets[i] >= 0) assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(cached.logps(b, keys)[i]));
            }
        }

        // whole runs: cached and frozen references give the same metrics, bit for bit
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 6, 4);
        List<List<com.fasterxml.jackson.databind.node.ObjectNode>> runs = new ArrayList<>();
        for (String mode : new String[] {"frozen", "cached"}) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put("train_file", train.toString());
            o.put("output_dir", dir.resolve(mode).toString());
            o.put("batch_size", "2");
            o.put("max_steps", "4");
            o.put("lr", "1e-2");
            o.put("progress", "none");
            o.put("reference_mode", mode);
            new Trainer(Trainer.Mode.ASPO, TrainConfig.of(o), new LlamaPolicy(Tiny.model(TOK, 11)), null, TOK,
                    TrainerTest.TEXT_SIMILARITY, new PrintStream(new ByteArrayOutputStream())).run(null);
            runs.add(TrainerTest.metrics(dir.resolve(mode)));
        }
        assertEquals(runs.get(0), runs.get(1));
        assertTrue(runs.get(1).get(3).get("rewards/margins").asDouble() != 0);
    }
}
