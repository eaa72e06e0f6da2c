package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer.json "decoder": turns token strings back into text. Each decoder maps a list of
 * strings to a list of strings (HF's decode_chain); the results are concatenated at the end.
 * Supported types: ByteLevel, Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace.
 */
interface Decoder {
    String SUPPORTED = "ByteLevel, Sequence, Replace, ByteFallback, Fuse, Strip, Metaspace";

    List<String> decodeChain(List<String> tokens);

    static Decoder fromJson(JsonNode node, String where) {
        String type = Json.type(node, where);
        switch (type) {
            case "Sequence": {
                JsonNode list = Json.array(node, "decoders", where);
                List<Decoder> steps = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) steps.add(fromJson(list.get(i), where + ".decoders[" + i + "]"));
                return tokens -> {
                    for (Decoder d : steps) tokens = d.decodeChain(tokens);
                    return tokens;
                };
            }
            case "ByteLevel":
                return Decoder::byteLevel;
            case "Replace": {
                HfPattern pattern = HfPattern.fromJson(node.get("pattern"), where + ".pattern");
                String content = Json.text(node, "content", where);
                return tokens -> {
                    List<String> out = new ArrayList<>(tokens.size());
                    for (String t : tokens) {
                        NormalizedString s = NormalizedString.of(t.codePoints().toArray());
                        s.replace(pattern, content);
                        out.add(s.get());
                    }
                    return out;
                };
            }
            case "ByteFallback":
                return Decoder::byteFallback;
            case "Fuse":
                return tokens -> List.of(String.join("", tokens));
            case "Strip": {
                String content = Json.text(node, "content", where);
                if (content.codePointCount(0, content.length()) != 1) {
                    throw new TokenizerFormatException(where + ".content: expected one character, got \"" + content + "\"");
                }
                int c = content.codePointAt(0);
                int start = Json.optInt(node, "start", 0, where);
                int stop = Json.optInt(node, "stop", 0, where);
                return tokens -> strip(tokens, c, start, stop);
            }
            case "Metaspace": {
                String rep = Json.text(node, "replacement", where);
                if (rep.codePointCount(0, rep.length()) != 1) {
                    throw new TokenizerFormatException(where + ".replacement: expected one character, got \"" + rep + "\"");
                }
                String scheme = Json.optText(node, "prepend_scheme", where);
                if (scheme == null) scheme = Json.optBool(node, "add_prefix_space", true, where) ? "always" : "never";
                boolean dropFirst = !scheme.equals("never");
                int r = rep.codePointAt(0);
                return tokens -> metaspace(tokens, r, dropFirst);
            }
            default:
                throw Json.unsupported(where, "decoder", type, SUPPORTED);
        }
    }

    /** Maps each character back to its byte, then decodes all bytes as (lossy) UTF-8. */
    private static List<String> byteLevel(List<String> tokens) {
        int total = 0;
        for (String t : tokens) total += t.length() * 4;
        byte[] buf = new byte[total];
        int n = 0;
        for (String t : tokens) {
            int[] cps = t.codePoints().toArray();
            boolean all = true;
            for (int c : cps) {
                if (ByteLevel.charToByte(c) < 0) {
                    all = false;
                    break;
                }
            }
            if (all) {
                for (int c : cps) buf[n++] = (byte) ByteLevel.charToByte(c);
            } else {
                // Not a byte-level string (e.g. an added token): its own UTF-8 bytes.
                for (int c : cps) n += Utf8.encode(c, buf, n);
            }
        }
        return List.of(Utf8.decodeLossy(buf, n));
    }

    /**
     * "<0xAB>" tokens become bytes; a run of them is decoded as UTF-8 if valid, else each byte
     * becomes U+FFFD.
     */
    private static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        byte[] pending = new byte[16];
        int np = 0;
        for (String t : tokens) {
            int b = byteToken(t);
            if (b >= 0) {
                if (np == pending.length) pending = java.util.Arrays.copyOf(pending, np * 2);
                pending[np++] = (byte) b;
                continue;
            }
            np = flush(pending, np, out);
            out.add(t);
        }
        flush(pending, np, out);
        return out;
    }

    private static int flush(byte[] pending, int np, List<String> out) {
        if (np == 0) return 0;
        String s = Utf8.decodeStrict(pending, np);
        if (s != null) out.add(s);
        else for (int i = 0; i < np; i++) out.add("\uFFFD");
        return 0;
    }

    /** The byte of a "<0xAB>" token, or -1. */
    private static int byteToken(String t) {
        if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
        int hi = Character.digit(t.charAt(3), 16);
        int lo = Character.digit(t.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code c} from every token. */
    private static List<String> strip(List<String> tokens, int c, int start, int stop) {
        List<String> out = new ArrayList<>(tokens.size());
        for (String t : tokens) {
            int[] cps = t.codePoints().toArray();
            int s = 0;
            while (s < start && s < cps.length && cps[s] == c) s++;
            int e = cps.length;
            for (int i = 0; i < stop && e > s && cps[e - 1] == c; i++) e--;
            out.add(new String(cps, s, e - s));
        }
        return out;
    }

    /** Replacement characters become spaces, except in the first token, where they are dropped. */
    private static List<String> metaspace(List<String> tokens, int replacement, boolean dropFirst) {
        List<String> out = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            StringBuilder sb = new StringBuilder();
            for (int c : tokens.get(i).codePoints().toArray()) {
                if (c == replacement) {
                    if (i == 0 && dropFirst) continue;
                    sb.append(' ');
                } else {
                    sb.appendCodePoint(c);
                }
            }
            out.add(sb.toString());
        }
        return out;
    }
}
