package dev.aspo.method.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.image.RgbImage;
import dev.aspo.tensor.io.IoErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A JSONL dataset in TRL's format, read whole and checked line by line:
 * <pre>
 *   preference: {"images": ["img/0.png"], "prompt": "...", "chosen": "...", "rejected": "..."}
 *   sft:        {"images": ["img/0.png"], "prompt": "...", "response": "..."}
 *   caption:    {"images": ["img/0.png"], "text": "..."}                 (CLIP; the text is in response())
 *               optional "negatives": ["...", ...]: texts false of the image, hard negatives (NegCLIP)
 * </pre>
 * {@code images} is optional (text-only records); paths are relative to the JSONL file's folder and
 * must stay inside the image root: that folder, unless a wider one is given ({@code image_root}),
 * so that a dataset from elsewhere cannot make a run read {@code ../../etc/passwd} or an absolute
 * path. Every image is decoded once when the dataset is read (its header first: a small file that
 * declares a huge image is refused before pixels are allocated), so that a broken image is a bad
 * record named by its line, skipped like any other with {@code skipBad}.
 * A preference record may carry {@code "chosen_sentence_labels": [1, 0, 1]} (and
 * {@code "rejected_sentence_labels"}): per sentence of the response its ground truth, 1 correct
 * and 0 wrong, which ASPO's {@code weights: oracle} uses. Other fields are ignored.
 * Blank lines are skipped. A bad record (not UTF-8, not a JSON object, a repeated field, a missing
 * or non-string field, an empty response, an image that does not exist, lies outside the image
 * root or does not decode) is a {@link DatasetException} naming file, line
 * and reason, unless {@code skipBad} is set: then it is left out and counted in {@link #skipped()}.
 */
public final class Dataset {
    /** Which fields a record must have. */
    public enum Kind {
        PREFERENCE, SFT,
        /** An image and its caption {@code text} (CLIP): {@code {"images": ["img/0.png"], "text": "..."}}. */
        CAPTION;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final ObjectMapper MAPPER = HfJson.strictMapper();

    private final Path file;
    private final Kind kind;
    private final List<Record> records;
    private final int skipped;
    private final List<String> skipReasons;

    private Dataset(Path file, Kind kind, List<Record> records, int skipped, List<String> skipReasons) {
        this.file = file;
        this.kind = kind;
        this.records = List.copyOf(records);
        this.skipped = skipped;
        this.skipReasons = List.copyOf(skipReasons);
    }

    /** Reads and checks {@code file}; see the class comment for what is an error. */
    public static Dataset load(Path file, Kind kind, boolean skipBad) throws IOException {
        return load(file, kind, skipBad, null);
    }

    /** As above; image paths must stay inside {@code imageRoot} (null: the dataset file's folder). */
    public static Dataset load(Path file, Kind kind, boolean skipBad, Path imageRoot) throws IOException {
        if (Files.isDirectory(file)) throw new DatasetException(file + ": a folder, not a dataset file (JSONL)");
        if (!Files.isRegularFile(file)) throw new DatasetException(file + ": no such dataset file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot read the dataset (" + IoErrors.reason(e) + ")");
        }
        Path dir = file.toAbsolutePath().getParent();
        Path root = (imageRoot == null ? dir : imageRoot.toAbsolutePath()).normalize();
        List<Record> records = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        int skipped = 0;
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        Map<Path, String> imageProblems = new HashMap<>();   // each image decoded once however many records name it
        int line = 0;
        for (int start = 0; start < bytes.length; ) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            line++;
            int from = start;
            start = end + 1;
            try {
                String text;
                try {
                    text = utf8.reset().decode(ByteBuffer.wrap(bytes, from, end - from)).toString();
                } catch (CharacterCodingException e) {
                    throw new DatasetException(file + ":" + line + ": not valid UTF-8 text (a byte that no UTF-8 character"
                            + " starts with; save the file as UTF-8)");
                }
                if (text.isBlank()) continue;
                records.add(parse(file, dir, root, line, text, kind, imageProblems));
            } catch (DatasetException e) {
                if (!skipBad) throw e;
                skipped++;
                reasons.add(e.getMessage());
            }
        }
        if (records.isEmpty()) {
            throw new DatasetException(file + ": no usable records" + (skipped > 0 ? " (" + skipped + " skipped as bad)" : ""));
        }
        return new Dataset(file, kind, records, skipped, reasons);
    }

    /**
     * One record. {@code imageProblems} holds every image decoded so far in this file: "" when it
     * decoded, else what was wrong with it (a study's SFT data names each image five times).
     */
    static Record parse(Path file, Path dir, Path root, int line, String text, Kind kind, Map<Path, String> imageProblems) {
        String where = file + ":" + line + ": ";
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new DatasetException(where + "not valid JSON: " + HfJson.describe(e));
        }
        if (node == null || !node.isObject()) throw new DatasetException(where + "a record must be a JSON object");
        List<Path> images = new ArrayList<>();
        JsonNode imgs = node.get("images");
        if (imgs != null && !imgs.isNull()) {
            if (!imgs.isArray()) throw new DatasetException(where + "\"images\" must be an array of paths");
            for (Iterator<JsonNode> it = imgs.elements(); it.hasNext(); ) {
                JsonNode p = it.next();
                if (!p.isTextual() || p.asText().isEmpty()) throw new DatasetException(where + "\"images\" must hold non-empty path strings");
                Path resolved = dir.resolve(p.asText()).normalize();
                if (!resolved.startsWith(root)) {
                    throw new DatasetException(where + "image " + p.asText() + " is outside " + root + " (image paths must stay"
                            + " inside the dataset's folder; set image_root to a folder that holds them to allow others)");
                }
                if (!Files.isRegularFile(resolved)) throw new DatasetException(where + "image " + p.asText() + " not found (" + resolved + ")");
                String problem = imageProblems.computeIfAbsent(resolved, f -> {
                    try {
                        RgbImage.read(f);
                        return "";
                    } catch (IOException | RuntimeException e) {
                        return IoErrors.describe(e).replace(f + ": ", "");
                    }
                });
                if (!problem.isEmpty()) throw new DatasetException(where + "image " + p.asText() + ": " + problem);
                images.add(resolved);
            }
        }
        if (kind == Kind.CAPTION) {
            if (images.isEmpty()) throw new DatasetException(where + "a caption record needs an image");
            return new Record(file, line, images, "", null, null, text(node, "text", where, false), null, null,
                    negatives(node, where));
        }
        String prompt = text(node, "prompt", where, true);
        if (kind == Kind.PREFERENCE) {
            String chosen = text(node, "chosen", where, false), rejected = text(node, "rejected", where, false);
            return new Record(file, line, images, prompt, chosen, rejected, null,
                    labels(node, "chosen_sentence_labels", where), labels(node, "rejected_sentence_labels", where));
        }
        return new Record(file, line, images, prompt, null, null, text(node, "response", where, false));
    }

    /** A caption record's optional {@code "negatives"}: an array of non-empty strings, or empty when absent. */
    private static List<String> negatives(JsonNode node, String where) {
        JsonNode v = node.get("negatives");
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw new DatasetException(where + "\"negatives\" must be an array of strings");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode x = v.get(i);
            if (!x.isTextual() || x.asText().isBlank()) {
                throw new DatasetException(where + "\"negatives\"[" + i + "] must be a non-empty string, got " + x);
            }
            out.add(x.asText());
        }
        return out;
    }

    /** An optional array of per-sentence ground-truth labels in [0, 1], or null when absent. */
    private static double[] labels(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw new DatasetException(where + "\"" + field + "\" must be an array of numbers in [0, 1]");
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode x = v.get(i);
            if (!x.isNumber() || !(x.asDouble() >= 0 && x.asDouble() <= 1)) {
                throw new DatasetException(where + "\"" + field + "\"[" + i + "] must be a number in [0, 1], got " + x);
            }
            out[i] = x.asDouble();
        }
        return out;
    }

    private static String text(JsonNode node, String field, String where, boolean mayBeEmpty) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) throw new DatasetException(where + "missing \"" + field + "\"");
        if (!v.isTextual()) throw new DatasetException(where + "\"" + field + "\" must be a string");
        if (!mayBeEmpty && v.asText().isBlank()) throw new DatasetException(where + "empty \"" + field + "\"");
        return v.asText();
    }

    public Path file() {
        return file;
    }

    public Kind kind() {
        return kind;
    }

    public List<Record> records() {
        return records;
    }

    public int size() {
        return records.size();
    }

    /** How many bad records were left out (only with {@code skipBad}). */
    public int skipped() {
        return skipped;
    }

    /** Why each skipped record was left out ({@code file:line: reason}). */
    public List<String> skipReasons() {
        return skipReasons;
    }
}
