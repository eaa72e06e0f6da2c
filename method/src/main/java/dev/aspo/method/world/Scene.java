package dev.aspo.method.world;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One image's ground truth: its objects. JSON form:
 * {@code {"objects":[{"shape":"circle","colour":"red","size":"small","cell":4}]}}.
 */
public record Scene(List<SceneObject> objects) {
    public Scene {
        objects = List.copyOf(objects);
    }

    /** Whether the scene holds an object of this colour and shape. */
    public boolean has(Colour c, Shape s) {
        return find(c, s).isPresent();
    }

    /** The object of this colour and shape, if any (a generated scene holds at most one). */
    public Optional<SceneObject> find(Colour c, Shape s) {
        return objects.stream().filter(o -> o.colour() == c && o.shape() == s).findFirst();
    }

    /** The objects of this shape, any colour. */
    public List<SceneObject> ofShape(Shape s) {
        return objects.stream().filter(o -> o.shape() == s).toList();
    }

    public ObjectNode toJson() {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ArrayNode arr = root.putArray("objects");
        for (SceneObject o : objects) {
            ObjectNode n = arr.addObject();
            n.put("shape", o.shape().word());
            n.put("colour", o.colour().word());
            n.put("size", o.size().word());
            n.put("cell", o.cell());
        }
        return root;
    }

    /** Reads {@link #toJson()}'s form; a missing or unknown field is an IllegalArgumentException naming it. */
    public static Scene fromJson(JsonNode n) {
        JsonNode arr = n == null ? null : n.get("objects");
        if (arr == null || !arr.isArray()) throw new IllegalArgumentException("scene JSON needs an \"objects\" array, got " + n);
        List<SceneObject> objects = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode o = arr.get(i);
            JsonNode cell = o.get("cell");
            if (cell == null || !cell.canConvertToInt()) throw new IllegalArgumentException("scene object " + i + " needs an integer \"cell\": " + o);
            objects.add(new SceneObject(parse(Shape.class, o, "shape", i), parse(Colour.class, o, "colour", i),
                    parse(Size.class, o, "size", i), cell.asInt()));
        }
        return new Scene(objects);
    }

    private static <E extends Enum<E>> E parse(Class<E> type, JsonNode o, String field, int i) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) throw new IllegalArgumentException("scene object " + i + " needs a text \"" + field + "\": " + o);
        try {
            return Enum.valueOf(type, v.asText().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("scene object " + i + ": unknown " + field + " \"" + v.asText() + "\"");
        }
    }
}
