package dev.aspo.method.train;

import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.tokenizer.BpeTrainer;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** A tiny tokenizer, Llama and preference dataset, built in the test (seeded). */
final class Tiny {
    static final String[] COLOURS = {"red", "blue", "green", "yellow"}, SHAPES = {"cube", "ball", "cone", "ring"};
    static final List<String> CORPUS = new ArrayList<>();

    static {
        for (String c : COLOURS) for (String s : SHAPES) {
            CORPUS.add("Describe the picture. A " + c + " " + s + ". It is small. It sits on the left.");
            CORPUS.add("There is a " + s + " which is " + c + ". It is big!");
        }
    }

    static Tokenizer tokenizer() {
        return new BpeTrainer(300, 2, List.of("<bos>", "<eos>")).withBosToken("<bos>").train(CORPUS);
    }

    static LlamaForCausalLM model(Tokenizer tok, long seed) {
        LlamaConfig c = LlamaConfig.builder().vocabSize(tok.vocabSize()).hiddenSize(16).intermediateSize(32)
                .numHiddenLayers(1).numAttentionHeads(2).numKeyValueHeads(1).maxPositionEmbeddings(128)
                .bosTokenId(tok.tokenToId("<bos>")).eosTokenIds(tok.tokenToId("<eos>")).initializerRange(0.1).build();
        return LlamaForCausalLM.random(c, seed);
    }

    /** {@code n} preference records: the chosen answer names the true colour, the rejected one a wrong colour. */
    static Path preferenceFile(Path dir, String name, int n, long seed) throws IOException {
        Random rng = new Random(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String c = COLOURS[rng.nextInt(COLOURS.length)], s = SHAPES[rng.nextInt(SHAPES.length)];
            String w = COLOURS[(java.util.Arrays.asList(COLOURS).indexOf(c) + 1 + rng.nextInt(3)) % COLOURS.length];
            String extra = rng.nextBoolean() ? " It is small." : " It sits on the left.";
            lines.add("{\"prompt\": \"Describe the " + s + ".\", \"chosen\": \"A " + c + " " + s + "." + extra
                    + "\", \"rejected\": \"A " + w + " " + s + "." + extra + "\"}");
        }
        Path f = dir.resolve(name);
        Files.write(f, lines);
        return f;
    }

    private Tiny() {}

    /** A training config on {@code train} writing to {@code out}: batches of 2, no progress output, then {@code kv} as key, value pairs. */
    static TrainConfig config(Path train, Path out, String... kv) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("train_file", train.toString());
        o.put("output_dir", out.toString());
        o.put("batch_size", "2");
        o.put("progress", "none");
        for (int i = 0; i < kv.length; i += 2) o.put(kv[i], kv[i + 1]);
        return TrainConfig.of(o);
    }
}
