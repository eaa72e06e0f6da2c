package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ASPO's {@code S_i = cos(text_emb(s_i), image_emb(I))} from a CLIP dual encoder (HF
 * {@code CLIPModel}), computed once and cached on disk:
 * <pre>
 *   cacheDir/clip-sim-&lt;model key&gt;.jsonl    one line per computed record side:
 *     {"key": sha256(image bytes, sentences), "s": [S_1, ..., S_K]}
 * </pre>
 * The model key hashes the CLIP weights, so other weights never read these numbers; the record key
 * hashes the image file's bytes and the sentence texts, so a second run over the same data
 * computes nothing ({@link #computed()} counts what was computed in this process).
 */
public final class ClipSimilarity implements SimilaritySource {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClipModel model;
    private final Tokenizer tokenizer;
    private final ClipImageProcessor processor;
    private final Path cacheFile;
    private final Map<String, double[]> cache = new HashMap<>();
    private int computed;

    public ClipSimilarity(ClipModel model, Tokenizer tokenizer, ClipImageProcessor processor, Path cacheDir) throws IOException {
        this.model = model;
        this.tokenizer = tokenizer;
        this.processor = processor;
        MessageDigest md = Hashes.sha256();
        Hashes.update(md, model);
        this.cacheFile = cacheDir == null ? null : cacheDir.resolve("clip-sim-" + Hashes.hex(md) + ".jsonl");
        if (cacheFile != null && Files.isRegularFile(cacheFile)) {
            String remedy = "delete the file: the similarities are computed again";
            int line = 0;
            for (JsonNode n : StateFiles.readJsonLines(cacheFile, remedy)) {
                line++;
                JsonNode key = n.get("key"), values = n.get("s");
                if (key == null || !key.isTextual() || values == null || !values.isArray()) {
                    throw new StateFiles.StateFileException(cacheFile + ": entry " + line + " lacks \"key\" or \"s\"; " + remedy);
                }
                double[] s = new double[values.size()];
                for (int i = 0; i < s.length; i++) {
                    s[i] = values.get(i).asDouble(Double.NaN);
                    // a cosine: |S| <= 1 up to float rounding; anything else is not what compute() wrote
                    if (!values.get(i).isNumber() || !(Math.abs(s[i]) <= 1 + 1e-4)) {
                        throw new StateFiles.StateFileException(cacheFile + ": entry " + line + " holds " + values.get(i)
                                + ", not a cosine similarity in [-1, 1]; " + remedy);
                    }
                }
                cache.put(key.asText(), s);
            }
        }
    }

    /** A CLIP directory with {@code config.json}, weights, {@code tokenizer.json} and {@code preprocessor_config.json}. */
    public static ClipSimilarity load(Path dir, Path cacheDir) throws IOException {
        return new ClipSimilarity(ClipModel.load(dir), Tokenizer.fromFile(dir.resolve("tokenizer.json")),
                ClipImageProcessor.load(dir), cacheDir);
    }

    /** How many record sides were computed (not found in the cache) by this instance. */
    public int computed() {
        return computed;
    }

    @Override
    public double[] similarities(Record record, List<String> sentences) {
        if (record.images().isEmpty()) {
            throw new DatasetException(record.where() + ": ASPO's image-text similarity needs an image (the record has none)");
        }
        Path image = record.images().get(0);
        String key;
        try {
            MessageDigest md = Hashes.sha256();
            md.update(Files.readAllBytes(image));
            for (String s : sentences) Hashes.update(md, s);
            key = Hashes.hex(md);
        } catch (IOException e) {
            throw new UncheckedIOException(record.where() + ": cannot read image " + image, e);
        }
        double[] hit = cache.get(key);
        if (hit != null) return hit.clone();
        double[] s = compute(image, sentences, record.where());
        cache.put(key, s);
        computed++;
        if (cacheFile != null) {
            try {
                Files.createDirectories(cacheFile.getParent());
                ObjectNode line = JSON.createObjectNode();
                line.put("key", key);
                var arr = line.putArray("s");
                for (double v : s) arr.add(v);
                Files.writeString(cacheFile, JSON.writeValueAsString(line) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the similarity cache " + cacheFile, e);
            }
        }
        return s.clone();
    }

    private double[] compute(Path image, List<String> sentences, String where) {
        try (var g = Autograd.noGrad()) {
            float[] img;
            try {
                img = model.imageEmbeds(processor.pixelValues(List.of(image))).toFloatArray();
            } catch (IOException e) {
                throw new DatasetException(where + ": cannot read image " + image + ": " + e.getMessage());
            }
            double[] out = new double[sentences.size()];
            for (int i = 0; i < out.length; i++) {
                int[] ids = ClipText.ids(tokenizer, model.config().textConfig(), sentences.get(i).strip());
                int[] mask = new int[ids.length];
                Arrays.fill(mask, 1);
                float[] txt = model.textEmbeds(ids, 1, ids.length, mask).toFloatArray();
                double dot = 0;
                for (int j = 0; j < txt.length; j++) dot += (double) txt[j] * img[j];
                out[i] = dot;   // both embeddings are L2-normalised: the dot product is the cosine
            }
            return out;
        }
    }
}
