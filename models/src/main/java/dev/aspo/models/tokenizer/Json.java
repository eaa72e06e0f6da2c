package dev.aspo.models.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Small readers for tokenizer.json fields. Each failure names the JSON path ("model.vocab",
 * "pre_tokenizer.pretokenizers[1].pattern") so the loader can report one precise line; the
 * loader prefixes the file name.
 */
final class Json {
    private Json() {
    }

    static boolean isNull(JsonNode n) {
        return n == null || n.isNull() || n.isMissingNode();
    }

    static JsonNode require(JsonNode obj, String field, String where) {
        JsonNode n = obj.get(field);
        if (isNull(n)) throw new TokenizerFormatException(where + ": missing field \"" + field + "\"");
        return n;
    }

    static String text(JsonNode obj, String field, String where) {
        JsonNode n = require(obj, field, where);
        if (!n.isTextual()) throw new TokenizerFormatException(where + "." + field + ": expected a string, got " + kind(n));
        return n.asText();
    }

    /** An optional string; null when absent or JSON null. */
    static String optText(JsonNode obj, String field, String where) {
        JsonNode n = obj.get(field);
        if (isNull(n)) return null;
        if (!n.isTextual()) throw new TokenizerFormatException(where + "." + field + ": expected a string, got " + kind(n));
        return n.asText();
    }

    static boolean optBool(JsonNode obj, String field, boolean dflt, String where) {
        JsonNode n = obj.get(field);
        if (isNull(n)) return dflt;
        if (!n.isBoolean()) throw new TokenizerFormatException(where + "." + field + ": expected true or false, got " + kind(n));
        return n.asBoolean();
    }

    static int optInt(JsonNode obj, String field, int dflt, String where) {
        JsonNode n = obj.get(field);
        if (isNull(n)) return dflt;
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new TokenizerFormatException(where + "." + field + ": expected an integer, got " + kind(n));
        }
        return n.asInt();
    }

    static JsonNode array(JsonNode obj, String field, String where) {
        JsonNode n = require(obj, field, where);
        if (!n.isArray()) throw new TokenizerFormatException(where + "." + field + ": expected an array, got " + kind(n));
        return n;
    }

    static JsonNode object(JsonNode obj, String field, String where) {
        JsonNode n = require(obj, field, where);
        if (!n.isObject()) throw new TokenizerFormatException(where + "." + field + ": expected an object, got " + kind(n));
        return n;
    }

    /** The "type" of a component object, e.g. "ByteLevel". */
    static String type(JsonNode component, String where) {
        if (!component.isObject()) throw new TokenizerFormatException(where + ": expected an object, got " + kind(component));
        return text(component, "type", where);
    }

    static TokenizerFormatException unsupported(String where, String kindOfComponent, String type, String supported) {
        return new TokenizerFormatException(where + ": unsupported " + kindOfComponent + " type \"" + type
                + "\" (supported: " + supported + ")");
    }

    static String kind(JsonNode n) {
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}
