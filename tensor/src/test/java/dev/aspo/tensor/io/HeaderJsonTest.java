package dev.aspo.tensor.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeaderJsonTest {

    @Test
    void parsesAllValueKinds() throws Exception {
        Object v = HeaderJson.parse(" {\"a\": [1, -2, 3.5e-1, true, false, null, \"x\"], \"b\": {}, \"c\": []}   ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b", "c"), List.copyOf(m.keySet()));
        List<?> a = (List<?>) m.get("a");
        assertEquals("1", a.get(0).toString());
        assertTrue(((HeaderJson.Num) a.get(0)).isInteger());
        assertTrue(((HeaderJson.Num) a.get(1)).isInteger());
        assertEquals("3.5e-1", a.get(2).toString());
        assertTrue(!((HeaderJson.Num) a.get(2)).isInteger());
        assertEquals(Boolean.TRUE, a.get(3));
        assertEquals(Boolean.FALSE, a.get(4));
        assertEquals(HeaderJson.NULL, a.get(5));
        assertEquals("x", a.get(6));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), m.get("c"));
    }

    @Test
    void decodesEscapesAndSurrogatePairs() throws Exception {
        Object v = HeaderJson.parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \u00fc\"");
        assertEquals("q\" b\\ s/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u00fc", v);
    }

    @Test
    void quoteRoundTripsThroughParse() throws Exception {
        String s = "a\"b\\c\n\t\u0001\u001f\u007f \u00e9\u2028 \ud83d\ude00";
        StringBuilder sb = new StringBuilder();
        HeaderJson.quote(sb, s);
        // serde_json style: only quote, backslash and control characters are escaped
        assertEquals("\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\u007f \u00e9\u2028 \ud83d\ude00\"", sb.toString());
        assertEquals(s, HeaderJson.parse(sb.toString()));
    }

    @Test
    void rejectsMalformedInput() {
        String[][] cases = {
            {"{\"a\":1,}", "expected a string key"},
            {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
            {"[1 2]", "expected ',' or ']'"},
            {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
            {"{\"a\":1", "unexpected end of input"},
            {"\"abc", "unterminated string"},
            {"\"a\u0001\"", "raw control character"},
            {"\"\\x\"", "invalid escape"},
            {"\"\\ud83d\"", "lone surrogate"},
            {"\"\\ude00\"", "lone surrogate"},
            {"\"\\u12g4\"", "invalid \\u escape"},
            {"007", "unexpected '0' after the value"},
            {"-", "invalid number"},
            {"1.", "no digits after '.'"},
            {"1e", "no exponent digits"},
            {"tru", "invalid literal"},
            {"{} x", "after the value"},
            {"", "unexpected end of input"},
            {"[".repeat(100), "nesting deeper than"},
        };
        for (String[] c : cases) {
            HeaderJson.SyntaxError e = assertThrows(HeaderJson.SyntaxError.class, () -> HeaderJson.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), "for " + c[0] + ": " + e.getMessage());
        }
    }
}
