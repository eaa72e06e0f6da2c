package dev.aspo.tensor.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code model.safetensors.index.json}, the table of contents of a sharded checkpoint:
 *
 * <pre>
 *   {
 *     "metadata": {
 *       "total_parameters": 17056,
 *       "total_size": 68224
 *     },
 *     "weight_map": {
 *       "lm_head.weight": "model-00001-of-00002.safetensors",
 *       ...
 *     }
 *   }
 * </pre>
 *
 * Read: only {@code weight_map} matters (tensor name to shard file name, a plain file name beside
 * the index); {@code metadata} is not checked, as transformers does not check it. Written: as
 * transformers writes it ({@code json.dumps(index, indent=2, sort_keys=True) + "\n"}), so the
 * same checkpoint gives the same bytes.
 */
final class SafeTensorsIndex {
    private SafeTensorsIndex() {}

    /** The {@code weight_map} of the index file {@code file}, in file order; anything malformed is one error naming the file. */
    static Map<String, String> readWeightMap(Path file) throws IOException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, "the index is not valid UTF-8 text");
        } catch (IOException e) {
            throw new SafeTensorsException(file, "cannot read the index: " + IoErrors.reason(e));
        }
        Object json;
        try {
            json = HeaderJson.parse(text);
        } catch (HeaderJson.SyntaxError e) {
            throw new SafeTensorsException(file, "the index is not valid JSON: " + e.getMessage());
        }
        if (!(json instanceof Map<?, ?> root)) throw new SafeTensorsException(file, "the index is not a JSON object");
        Object map = root.get("weight_map");
        if (map == null) {
            throw new SafeTensorsException(file, "the index has no \"weight_map\" (the object naming each tensor's shard file)");
        }
        if (!(map instanceof Map<?, ?> entries)) {
            throw new SafeTensorsException(file, "\"weight_map\" must be an object of tensor name -> shard file, got " + describe(map));
        }
        if (entries.isEmpty()) throw new SafeTensorsException(file, "\"weight_map\" is empty: the index names no tensor");
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : entries.entrySet()) {
            String name = (String) e.getKey();
            if (!(e.getValue() instanceof String shard)) {
                throw new SafeTensorsException(file, "\"weight_map\": tensor '" + name + "' maps to " + describe(e.getValue())
                        + ", not a shard file name");
            }
            if (!isPlainFileName(shard)) {
                throw new SafeTensorsException(file, "\"weight_map\": tensor '" + name + "' maps to \"" + shard
                        + "\", which is not a file name in the index's folder");
            }
            out.put(name, shard);
        }
        return out;
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0 && s.indexOf('\0') < 0;
    }

    private static String describe(Object v) {
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        return String.valueOf(v);
    }

    /** The index text for {@code metadata} (numbers) and {@code weightMap}, byte for byte as transformers writes it. */
    static String format(Map<String, Long> metadata, Map<String, String> weightMap) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("metadata", metadata);
        root.put("weight_map", weightMap);
        StringBuilder sb = new StringBuilder();
        write(sb, root, "");
        return sb.append('\n').toString();
    }

    /** Python's {@code json.dumps(v, indent=2, sort_keys=True)} (ensure_ascii) for maps, strings and numbers. */
    private static void write(StringBuilder sb, Object v, String indent) {
        if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<String> keys = new ArrayList<>();
            for (Object k : m.keySet()) keys.add((String) k);
            keys.sort(ShardPlan::compareCodePoints);
            String inner = indent + "  ";
            sb.append("{\n");
            for (int i = 0; i < keys.size(); i++) {
                sb.append(inner);
                HeaderJson.quote(sb, keys.get(i), true);
                sb.append(": ");
                write(sb, m.get(keys.get(i)), inner);
                sb.append(i + 1 < keys.size() ? ",\n" : "\n");
            }
            sb.append(indent).append('}');
        } else if (v instanceof String s) {
            HeaderJson.quote(sb, s, true);
        } else if (v instanceof Long n) {
            sb.append(n);
        } else {
            throw new IllegalArgumentException("cannot write " + v + " in an index");
        }
    }
}
