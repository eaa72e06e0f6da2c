package dev.aspo.models.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which modules a LoRA config names, with PEFT's rules ({@code check_target_module_exists}) for
 * its {@code target_modules} and {@code exclude_modules}: a module key is transformers' in-memory
 * module name ({@code model.language_model.layers.0.self_attn.q_proj}), and
 * <ul>
 *   <li>a list matches a key equal to one of its entries or ending in {@code "." + entry}
 *       ({@code "q_proj"}, {@code "layers.1.mlp.up_proj"});</li>
 *   <li>a string is a regular expression that must match the whole key ({@code re.fullmatch};
 *       Java's syntax, which agrees with Python's for the usual patterns);</li>
 *   <li>the string {@code "all-linear"} (any case) stands for every linear layer except the
 *       language model's output layer; {@link LoraModel#inject} replaces it by the list of their
 *       full names, as PEFT does, so that is what an adapter config records.</li>
 * </ul>
 */
public final class TargetModules {
    /** PEFT's {@code INCLUDE_LINEAR_LAYERS_SHORTHAND}. */
    public static final String ALL_LINEAR = "all-linear";

    private final List<String> names;     // null for a pattern
    private final String regex;           // null for a list
    private final Pattern pattern;

    private TargetModules(List<String> names, String regex) {
        this.names = names == null ? null : List.copyOf(names);
        this.regex = regex;
        Pattern p = null;
        if (regex != null && !isAllLinear()) {
            try {
                p = Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("not a valid regular expression: \"" + regex + "\" (" + e.getDescription() + ")");
            }
        }
        this.pattern = p;
    }

    /** Module names matched as they are or as a dotted suffix; at least one, none blank. */
    public static TargetModules names(List<String> names) {
        if (names.isEmpty()) throw new IllegalArgumentException("an empty list of module names matches nothing");
        for (String n : names) {
            if (n == null || n.isBlank()) throw new IllegalArgumentException("a module name is empty in " + names);
        }
        return new TargetModules(names, null);
    }

    public static TargetModules names(String... names) {
        return names(List.of(names));
    }

    /** A regular expression matched against the whole module name, or {@link #ALL_LINEAR}. */
    public static TargetModules regex(String regex) {
        if (regex.isEmpty()) throw new IllegalArgumentException("an empty regular expression");
        return new TargetModules(null, regex);
    }

    /** PEFT's JSON value: a string (pattern) or an array of strings; {@code what} names it in errors. */
    public static TargetModules fromJson(JsonNode n, String what) {
        if (n.isTextual()) return regex(n.textValue());
        if (n.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isTextual()) throw new IllegalArgumentException(what + " must be a string or a list of strings, got " + n);
                out.add(e.textValue());
            }
            return names(out);
        }
        throw new IllegalArgumentException(what + " must be a string or a list of strings, got " + n);
    }

    public JsonNode toJson() {
        if (regex != null) return JsonNodeFactory.instance.textNode(regex);
        var a = JsonNodeFactory.instance.arrayNode();
        names.forEach(a::add);
        return a;
    }

    /** Whether this is PEFT's {@code "all-linear"} shorthand (resolved against a model by {@link LoraModel#inject}). */
    public boolean isAllLinear() {
        return regex != null && regex.toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
    }

    /** Whether {@code key} (transformers' in-memory module name) is one of these modules. */
    public boolean matches(String key) {
        if (isAllLinear()) throw new IllegalStateException("\"all-linear\" is resolved against a model before matching");
        if (pattern != null) return pattern.matcher(key).matches();
        for (String n : names) if (key.equals(n) || key.endsWith("." + n)) return true;
        return false;
    }

    @Override
    public String toString() {
        return regex != null ? "\"" + regex + "\"" : names.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules t && java.util.Objects.equals(names, t.names) && java.util.Objects.equals(regex, t.regex);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(names, regex);
    }
}
