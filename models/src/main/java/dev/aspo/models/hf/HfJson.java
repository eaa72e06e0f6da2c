package dev.aspo.models.hf;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.tensor.io.IoErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Reading and writing Hugging Face {@code config.json} files with Jackson.
 *
 * <p>Every reader takes a {@code where} (the file, plus the nesting for sub-configs such as
 * LLaVA's {@code text_config}) so a bad value is reported as one line naming the file and the
 * key: {@code /m/config.json: "hidden_size" must be a positive integer, got "32"}. Absent keys
 * and JSON {@code null} take the caller's default, as transformers' config classes do.
 */
public final class HfJson {
    private HfJson() {}

    /** A key given twice in one object is an error, not "the last one wins" (which hides a typo). */
    private static final ObjectMapper MAPPER = strictMapper();

    /** A JSON reader that refuses a key repeated within one object. */
    public static ObjectMapper strictMapper() {
        return JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    }

    /**
     * What is wrong in a JSON (or YAML) text and where: {@code <what> at line L, column C}, without
     * the {@code [Source: REDACTED ...]} that Jackson puts in its messages.
     */
    public static String describe(JsonProcessingException e) {
        String what = e.getOriginalMessage() == null ? e.getClass().getSimpleName()
                : e.getOriginalMessage().lines().findFirst().orElse("").replaceAll("\\s*\\(start marker at \\[Source:[^\\]]*\\]\\)", "")
                        .replaceAll("\\s*\\[Source:[^\\]]*\\]", "");
        JsonLocation at = e.getLocation();
        return what + (at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr());
    }

    /** The JSON object in {@code file}; a missing file, bad JSON or a non-object is one clear error. */
    public static ObjectNode readObject(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException(file + ": a folder, not a JSON file");
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        JsonNode root;
        try {
            root = MAPPER.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + describe(e), e);
        } catch (IOException e) {
            throw new IOException(file + ": cannot read (" + IoErrors.reason(e) + ")", e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": expected a JSON object at the top level");
        return (ObjectNode) root;
    }

    public static boolean absent(JsonNode obj, String key) {
        JsonNode n = obj.get(key);
        return n == null || n.isNull() || n.isMissingNode();
    }

    /** An integer value (a JSON number without a fraction), or {@code dflt} when absent. */
    public static int optInt(JsonNode obj, String key, int dflt, String where) {
        Integer v = optIntOrNull(obj, key, where);
        return v == null ? dflt : v;
    }

    /** An integer value, or null when absent or JSON null. */
    public static Integer optIntOrNull(JsonNode obj, String key, String where) {
        if (absent(obj, key)) return null;
        JsonNode n = obj.get(key);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) throw bad(where, key, "an integer", n);
        return n.intValue();
    }

    public static double optDouble(JsonNode obj, String key, double dflt, String where) {
        if (absent(obj, key)) return dflt;
        JsonNode n = obj.get(key);
        if (!n.isNumber()) throw bad(where, key, "a number", n);
        return n.doubleValue();
    }

    public static boolean optBool(JsonNode obj, String key, boolean dflt, String where) {
        if (absent(obj, key)) return dflt;
        JsonNode n = obj.get(key);
        if (!n.isBoolean()) throw bad(where, key, "true or false", n);
        return n.booleanValue();
    }

    public static String optString(JsonNode obj, String key, String dflt, String where) {
        if (absent(obj, key)) return dflt;
        JsonNode n = obj.get(key);
        if (!n.isTextual()) throw bad(where, key, "a string", n);
        return n.textValue();
    }

    /** One error line: {@code where: "key" must be WHAT, got VALUE}. */
    public static IllegalArgumentException bad(String where, String key, String what, JsonNode got) {
        return new IllegalArgumentException(where + ": \"" + key + "\" must be " + what + ", got " + got);
    }

    /** Where a problem in {@code key} of a file is: the file, or the file and the sub-config's path. */
    public static String where(Object file, String subConfig) {
        return subConfig == null || subConfig.isEmpty() ? String.valueOf(file) : file + " (" + subConfig + ")";
    }

    /**
     * Writes {@code obj} as transformers does ({@code json.dumps(indent=2, sort_keys=True)} plus a
     * newline), through a temporary file renamed over {@code file}.
     */
    public static void writeObject(Path file, ObjectNode obj) throws IOException {
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        pp.indentArraysWith(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE);
        writeText(file, MAPPER.writer(pp).writeValueAsString(sorted(obj)) + "\n");
    }

    /**
     * Writes {@code text} (UTF-8) through a temporary file beside {@code file}, synced and then
     * renamed over it: a crash leaves the old file or the new one, never half of one.
     */
    public static void writeText(Path file, String text) throws IOException {
        Path abs = file.toAbsolutePath();
        Path tmp = sibling(abs, ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /**
     * An unused hidden name beside {@code target} ({@code .name.<random>suffix}) for a temporary
     * file or directory. Not {@code Files.createTemp*}: those are created owner-only on POSIX and
     * the renamed result would keep that; created by the caller, it gets the usual umask.
     */
    public static Path sibling(Path target, String suffix) {
        Path abs = target.toAbsolutePath();
        for (int attempt = 0; ; attempt++) {
            Path p = abs.resolveSibling("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                    + suffix);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS) || attempt == 10) return p;
        }
    }

    /** A copy with the keys of every object in sorted order (Python's {@code sort_keys=True}). */
    private static JsonNode sorted(JsonNode n) {
        if (n.isObject()) {
            Map<String, JsonNode> m = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                m.put(e.getKey(), sorted(e.getValue()));
            }
            ObjectNode out = MAPPER.createObjectNode();
            m.forEach(out::set);
            return out;
        }
        if (n.isArray()) {
            var out = MAPPER.createArrayNode();
            n.forEach(c -> out.add(sorted(c)));
            return out;
        }
        return n;
    }

    /** A new empty object node. */
    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }
}
