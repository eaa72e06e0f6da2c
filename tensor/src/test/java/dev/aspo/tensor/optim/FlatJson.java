package dev.aspo.tensor.optim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the fixtures written by {@code tensor/src/test/python}: one JSON object whose values are all
 * arrays of numbers ({@code {"key": [1.0, 2], ...}}). The tensor module has no JSON library, and
 * this shape needs none; anything else in the file is an error, so a fixture cannot be misread.
 */
final class FlatJson {
    private static final Pattern ENTRY = Pattern.compile("\\s*\"([^\"]+)\"\\s*:\\s*\\[([^\\]]*)\\]\\s*(,|\\})");

    private FlatJson() {}

    static Map<String, double[]> resource(String path) throws IOException {
        try (InputStream in = FlatJson.class.getResourceAsStream(path)) {
            if (in == null) throw new IOException("fixture " + path + " is not on the test class path");
            return parse(path, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    static Map<String, double[]> parse(String name, String text) {
        String body = text.strip();
        if (!body.startsWith("{")) throw new IllegalArgumentException(name + ": expected a JSON object");
        Map<String, double[]> out = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(body);
        int at = 1;
        while (at < body.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException(name + ": not a flat object of number arrays at character " + at);
            }
            String items = m.group(2).strip();
            String[] parts = items.isEmpty() ? new String[0] : items.split(",");
            double[] values = new double[parts.length];
            for (int i = 0; i < parts.length; i++) values[i] = Double.parseDouble(parts[i].strip());
            if (out.put(m.group(1), values) != null) throw new IllegalArgumentException(name + ": key " + m.group(1) + " twice");
            at = m.end();
            if (m.group(3).equals("}")) break;
        }
        if (at != body.length()) throw new IllegalArgumentException(name + ": trailing text after the object");
        return out;
    }
}
