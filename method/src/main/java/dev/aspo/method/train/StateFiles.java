package dev.aspo.method.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.models.hf.HfJson;
import dev.aspo.tensor.io.IoErrors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the files a run writes for itself and reads back (trainer state, metrics, caches). What a
 * crash can leave is repaired: the torn last line of an append-only JSONL log (a kill or a full disk
 * in the middle of an append) is cut off. Anything else unreadable is a {@link StateFileException}
 * naming the file, the line, what is wrong and what to do ({@code remedy}).
 */
public final class StateFiles {
    private static final ObjectMapper JSON = HfJson.strictMapper();

    private StateFiles() {}

    /** An unreadable state file: the message names it and what to do. */
    public static final class StateFileException extends IllegalArgumentException {
        StateFileException(String message) {
            super(message);
        }
    }

    /** One JSON document. */
    public static JsonNode readJson(Path file, String remedy) {
        String text = readText(file, remedy);
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null || n.isMissingNode()) throw new StateFileException(file + ": empty; " + remedy);
            return n;
        } catch (JsonProcessingException e) {
            throw new StateFileException(file + ": " + jsonError(e) + "; " + remedy);
        }
    }

    /** A whole number field of {@code node} (read from {@code file}) that must be there. */
    public static long requireLong(JsonNode node, String field, Path file, String remedy) {
        JsonNode v = node.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new StateFileException(file + ": \"" + field + "\" is " + (v == null ? "missing" : "not a whole number (" + v + ")")
                    + "; " + remedy);
        }
        return v.asLong();
    }

    /**
     * The objects of an append-only JSONL log (blank lines skipped). A last line that does not end in
     * a newline and does not parse is what an interrupted append leaves: it is cut from the file
     * (so the next append starts a line of its own) and left out. Any other bad line is an error.
     */
    public static List<JsonNode> readJsonLines(Path file, String remedy) throws IOException {
        String text = readText(file, remedy);
        List<JsonNode> out = new ArrayList<>();
        int start = 0, line = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl;
            String l = text.substring(start, end);
            line++;
            if (!l.isBlank()) {
                try {
                    JsonNode n = JSON.readTree(l);
                    if (n == null || !n.isObject()) throw new StateFileException(file + ":" + line + ": not a JSON object; " + remedy);
                    out.add(n);
                    if (nl < 0) Files.writeString(file, "\n", StandardOpenOption.APPEND);   // the next append starts its own line
                } catch (JsonProcessingException e) {
                    if (nl >= 0) throw new StateFileException(file + ":" + line + ": " + jsonError(e) + "; " + remedy);
                    cutAt(file, text.substring(0, start).getBytes(StandardCharsets.UTF_8).length);
                }
            }
            start = end + 1;
        }
        return out;
    }

    /** What is wrong in a JSON text, with the line and column but without Jackson's redacted source. */
    public static String jsonError(JsonProcessingException e) {
        return "not valid JSON (" + HfJson.describe(e) + ")";
    }

    private static String readText(Path file, String remedy) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new StateFileException(file + ": cannot read (" + IoErrors.reason(e) + "); " + remedy);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new StateFileException(file + ": not UTF-8 text (damaged?); " + remedy);
        }
    }

    private static void cutAt(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }
}
