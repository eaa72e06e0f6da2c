package dev.aspo.tensor.io;

import java.util.Locale;
import java.util.Map;

/**
 * The {@code max_shard_size} of transformers' {@code save_pretrained}, as text: {@code "5GB"},
 * {@code "500MB"}, {@code "0.5GB"}, or a plain number of bytes. Units are decimal (KB = 1000 bytes,
 * up to TB) and case-insensitive, as huggingface_hub's {@code parse_size_to_int} reads them; the
 * value is {@code (long) (number * unit)}, the same rounding as its {@code int(float * unit)}.
 */
public final class ShardSize {
    private ShardSize() {}

    /** No limit: every tensor in one {@code model.safetensors}. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    private static final Map<String, Long> UNITS = Map.of("KB", 1_000L, "MB", 1_000_000L, "GB", 1_000_000_000L,
            "TB", 1_000_000_000_000L);

    /**
     * The limit {@code text} gives, in bytes (at least 1).
     *
     * @throws IllegalArgumentException naming the text and what is wrong with it
     */
    public static long parse(String text) {
        String s = text.strip();
        if (s.matches("\\d+")) {
            long bytes;
            try {
                bytes = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shard size \"" + text + "\" is more bytes than a 64-bit number holds");
            }
            return positive(text, bytes);
        }
        String unit = s.length() < 2 ? "" : s.substring(s.length() - 2).toUpperCase(Locale.ROOT);
        Long scale = UNITS.get(unit);
        String number = s.substring(0, Math.max(0, s.length() - 2)).strip();
        if (scale == null || !number.matches("\\d+(\\.\\d*)?|\\.\\d+")) {
            throw new IllegalArgumentException("shard size \"" + text + "\" is not a size: expected bytes (e.g. 500000000) or a"
                    + " number with KB, MB, GB or TB (decimal units, e.g. 5GB or 0.5GB)");
        }
        double bytes = Double.parseDouble(number) * scale;
        if (bytes >= 0x1p63) throw new IllegalArgumentException("shard size \"" + text + "\" is more bytes than a 64-bit number holds");
        return positive(text, (long) bytes);
    }

    private static long positive(String text, long bytes) {
        if (bytes < 1) throw new IllegalArgumentException("shard size \"" + text + "\" is " + bytes + " bytes; a shard holds at least one byte");
        return bytes;
    }
}
