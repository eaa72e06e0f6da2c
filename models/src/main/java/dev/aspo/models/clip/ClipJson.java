package dev.aspo.models.clip;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the keys of an HF {@code config.json} object with one clear error per problem (the file
 * and the dotted key), and writes config objects as {@code save_pretrained} does: keys sorted,
 * two-space indent, {@code "key": value}.
 */
final class ClipJson {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private final ObjectNode node;
    private final Path file;
    private final String prefix;   // "" or "text_config." - for messages

    ClipJson(ObjectNode node, Path file, String prefix) {
        this.node = node;
        this.file = file;
        this.prefix = prefix;
    }

    /** Parses {@code file} as one JSON object. */
    static ObjectNode readObject(Path file) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new IOException(file + ": no such file", e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": expected a JSON object");
        return (ObjectNode) root;
    }

    static ObjectMapper mapper() {
        return MAPPER;
    }

    IOException error(String key, String what) {
        return new IOException(file + ": key " + prefix + key + " " + what);
    }

    /** For errors raised outside this reader (a config's own validation), with the file and prefix. */
    IOException wrap(IllegalArgumentException e) {
        return new IOException(file + ": key " + prefix + e.getMessage(), e);
    }

    boolean has(String key) {
        return node.has(key) && !node.get(key).isNull();
    }

    int requiredInt(String key) throws IOException {
        if (!node.has(key)) throw error(key, "is missing");
        return intValue(key);
    }

    int optInt(String key, int dflt) throws IOException {
        return has(key) ? intValue(key) : dflt;
    }

    /** An integer key that may be absent or null (HF's {@code int | None}). */
    Integer optNullableInt(String key, Integer dflt) throws IOException {
        if (!node.has(key)) return dflt;
        if (node.get(key).isNull()) return null;
        return intValue(key);
    }

    private int intValue(String key) throws IOException {
        JsonNode v = node.get(key);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw error(key, "must be an integer, got " + v);
        return v.intValue();
    }

    /** An integer, or a list of two equal integers (HF accepts {@code [h, w]} for image and patch sizes). */
    int requiredSquareSize(String key) throws IOException {
        if (!node.has(key)) throw error(key, "is missing");
        JsonNode v = node.get(key);
        if (v.isArray()) {
            if (v.size() != 2 || !v.get(0).canConvertToInt() || !v.get(0).isIntegralNumber() || !v.get(1).isIntegralNumber()) {
                throw error(key, "must be an integer or [height, width], got " + v);
            }
            if (v.get(0).intValue() != v.get(1).intValue()) throw error(key, "is not square (" + v + "): not supported");
            return v.get(0).intValue();
        }
        return intValue(key);
    }

    double optDouble(String key, double dflt) throws IOException {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isNumber()) throw error(key, "must be a number, got " + v);
        return v.doubleValue();
    }

    String optString(String key, String dflt) throws IOException {
        if (!has(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isTextual()) throw error(key, "must be a string, got " + v);
        return v.textValue();
    }

    ObjectNode optObject(String key) throws IOException {
        if (!has(key)) return null;
        JsonNode v = node.get(key);
        if (!v.isObject()) throw error(key, "must be an object, got " + v);
        return (ObjectNode) v;
    }

    /** The keys of the object that are not in {@code known}, for writing them back unchanged. */
    ObjectNode extras(Set<String> known) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!known.contains(e.getKey())) out.set(e.getKey(), e.getValue().deepCopy());
        }
        return out;
    }

    /** {@code fields} plus {@code extras} (fields win), keys sorted as HF's {@code to_json_string}. */
    static ObjectNode sorted(Map<String, JsonNode> fields, ObjectNode extras) {
        TreeMap<String, JsonNode> all = new TreeMap<>();
        if (extras != null) extras.fields().forEachRemaining(e -> all.put(e.getKey(), e.getValue()));
        all.putAll(fields);
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        all.forEach(out::set);
        return out;
    }

    /** Writes {@code json} to {@code file} (HF's indentation) through a temporary file and an atomic rename. */
    static void writeAtomically(ObjectNode json, Path file) throws IOException {
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"))
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        String text = MAPPER.writer(pp).writeValueAsString(json) + "\n";
        Files.createDirectories(file.toAbsolutePath().getParent());
        HfJson.writeText(file, text);   // the one atomic writer: synced temporary file, then a rename
    }
}
