package dev.aspo.tensor.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small JSON reader and string quoter the safetensors header needs (the tensor module has no
 * dependencies). The reader accepts standard JSON (RFC 8259) and builds plain values:
 *
 * <pre>
 *   object -> LinkedHashMap&lt;String, Object&gt; (key order kept; a repeated key is an error)
 *   array  -> ArrayList&lt;Object&gt;
 *   string -> String
 *   number -> {@link Num} (the literal text; the caller decides what range it must fit)
 *   true / false -> Boolean,  null -> {@link #NULL}
 * </pre>
 */
final class HeaderJson {
    private HeaderJson() {}

    /** A JSON number, kept as written. */
    static final class Num {
        final String text;

        Num(String text) {
            this.text = text;
        }

        /** True for an optional minus sign followed by digits only (no fraction or exponent). */
        boolean isInteger() {
            int i = text.startsWith("-") ? 1 : 0;
            if (i == text.length()) return false;
            for (; i < text.length(); i++) {
                if (text.charAt(i) < '0' || text.charAt(i) > '9') return false;
            }
            return true;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** The JSON {@code null} (a map cannot tell a null value from a missing key). */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** Malformed JSON; the message says what and where (character offset). */
    static final class SyntaxError extends Exception {
        private static final long serialVersionUID = 1L;

        SyntaxError(String message, int pos) {
            super(message + " at character " + pos);
        }
    }

    /** Deep nesting is never valid in a header; the limit keeps hostile input off the stack. */
    private static final int MAX_DEPTH = 64;

    /** Parses one JSON value that makes up the whole of {@code text} (surrounding whitespace allowed). */
    static Object parse(String text) throws SyntaxError {
        Reader r = new Reader(text);
        r.skipWhitespace();
        Object v = r.value(0);
        r.skipWhitespace();
        if (r.pos != text.length()) throw new SyntaxError("unexpected '" + text.charAt(r.pos) + "' after the value", r.pos);
        return v;
    }

    private static final class Reader {
        final String s;
        int pos;

        Reader(String s) {
            this.s = s;
        }

        void skipWhitespace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                pos++;
            }
        }

        char peek() throws SyntaxError {
            if (pos >= s.length()) throw new SyntaxError("unexpected end of input", pos);
            return s.charAt(pos);
        }

        void expect(char c) throws SyntaxError {
            if (peek() != c) throw new SyntaxError("expected '" + c + "' but found '" + s.charAt(pos) + "'", pos);
            pos++;
        }

        Object value(int depth) throws SyntaxError {
            if (depth > MAX_DEPTH) throw new SyntaxError("nesting deeper than " + MAX_DEPTH, pos);
            char c = peek();
            switch (c) {
                case '{': return object(depth);
                case '[': return array(depth);
                case '"': return string();
                case 't': literal("true"); return Boolean.TRUE;
                case 'f': literal("false"); return Boolean.FALSE;
                case 'n': literal("null"); return NULL;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw new SyntaxError("unexpected '" + c + "'", pos);
            }
        }

        Map<String, Object> object(int depth) throws SyntaxError {
            expect('{');
            Map<String, Object> m = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipWhitespace();
                int keyPos = pos;
                if (peek() != '"') throw new SyntaxError("expected a string key but found '" + s.charAt(pos) + "'", pos);
                String key = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                Object v = value(depth + 1);
                if (m.put(key, v) != null) throw new SyntaxError("duplicate key \"" + key + "\"", keyPos);
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == '}') return m;
                if (c != ',') throw new SyntaxError("expected ',' or '}' but found '" + c + "'", pos - 1);
            }
        }

        List<Object> array(int depth) throws SyntaxError {
            expect('[');
            List<Object> a = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return a;
            }
            while (true) {
                skipWhitespace();
                a.add(value(depth + 1));
                skipWhitespace();
                char c = peek();
                pos++;
                if (c == ']') return a;
                if (c != ',') throw new SyntaxError("expected ',' or ']' but found '" + c + "'", pos - 1);
            }
        }

        void literal(String word) throws SyntaxError {
            if (!s.startsWith(word, pos)) throw new SyntaxError("invalid literal (expected " + word + ")", pos);
            pos += word.length();
        }

        Num number() throws SyntaxError {
            // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
            int start = pos;
            if (peek() == '-') pos++;
            if (pos < s.length() && s.charAt(pos) == '0') {
                pos++;
            } else if (digits() == 0) {
                throw new SyntaxError("invalid number", start);
            }
            if (pos < s.length() && s.charAt(pos) == '.') {
                pos++;
                if (digits() == 0) throw new SyntaxError("invalid number (no digits after '.')", start);
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
                if (digits() == 0) throw new SyntaxError("invalid number (no exponent digits)", start);
            }
            return new Num(s.substring(start, pos));
        }

        int digits() {
            int start = pos;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
            return pos - start;
        }

        String string() throws SyntaxError {
            int start = pos;
            expect('"');
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= s.length()) throw new SyntaxError("unterminated string", start);
                char c = s.charAt(pos++);
                if (c == '"') return sb.toString();
                if (c < 0x20) throw new SyntaxError("raw control character in string", pos - 1);
                if (c != '\\') {
                    sb.append(c);
                    continue;
                }
                if (pos >= s.length()) throw new SyntaxError("unterminated string", start);
                char e = s.charAt(pos++);
                switch (e) {
                    case '"': sb.append('"'); break;
                    case '\\': sb.append('\\'); break;
                    case '/': sb.append('/'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u': {
                        char u = hex4();
                        if (Character.isHighSurrogate(u)) {
                            // a character outside the BMP is written as a \\uD8xx\\uDCxx pair
                            if (!s.startsWith("\\u", pos)) throw new SyntaxError("lone surrogate in \\u escape", pos - 6);
                            pos += 2;
                            char low = hex4();
                            if (!Character.isLowSurrogate(low)) throw new SyntaxError("lone surrogate in \\u escape", pos - 12);
                            sb.append(u).append(low);
                        } else if (Character.isLowSurrogate(u)) {
                            throw new SyntaxError("lone surrogate in \\u escape", pos - 6);
                        } else {
                            sb.append(u);
                        }
                        break;
                    }
                    default:
                        throw new SyntaxError("invalid escape '\\" + e + "'", pos - 2);
                }
            }
        }

        char hex4() throws SyntaxError {
            if (pos + 4 > s.length()) throw new SyntaxError("truncated \\u escape", pos);
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(s.charAt(pos + i), 16);
                if (d < 0) throw new SyntaxError("invalid \\u escape", pos);
                v = v * 16 + d;
            }
            pos += 4;
            return (char) v;
        }
    }

    /**
     * Appends {@code s} as a JSON string the way the reference writer (serde_json) does: only
     * {@code "}, {@code \\} and control characters are escaped; everything else is written as is
     * (the header is UTF-8).
     */
    static void quote(StringBuilder out, String s) {
        quote(out, s, false);
    }

    /**
     * The same, and with {@code ensureAscii} as Python's {@code json.dumps} quotes by default
     * (transformers' index files): every character outside printable ASCII as a {@code \\u}
     * escape per UTF-16 unit.
     */
    static void quote(StringBuilder out, String s, boolean ensureAscii) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': out.append("\\\""); break;
                case '\\': out.append("\\\\"); break;
                case '\b': out.append("\\b"); break;
                case '\f': out.append("\\f"); break;
                case '\n': out.append("\\n"); break;
                case '\r': out.append("\\r"); break;
                case '\t': out.append("\\t"); break;
                default:
                    if (c < 0x20 || ensureAscii && c > 0x7e) {
                        out.append("\\u");
                        for (int shift = 12; shift >= 0; shift -= 4) out.append(Character.forDigit((c >> shift) & 15, 16));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }
}
