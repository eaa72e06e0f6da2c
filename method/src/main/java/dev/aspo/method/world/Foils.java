package dev.aspo.method.world;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * True one-fact sentences about a scene and their foils: the same sentence made false by changing
 * exactly one thing (NegCLIP-style hard negatives, Yuksekgonul et al., ICLR 2023). A contrastive
 * CLIP that must rank a sentence above its foils for the same image has to bind colour, shape,
 * size and place to one object, which is what ASPO's sentence similarity {@code S_i} needs.
 *
 * <pre>
 *   COLOUR   the object with another colour            "a small green circle in the top left"
 *   SHAPE    the object with another shape             "a small red star in the top left"
 *   SIZE     the object with the other size            "a large red circle in the top left"
 *   PLACE    the object in another cell                "a small red circle in the centre"
 *   ABSENT   a colour + shape the scene does not hold, at a random size and cell
 *   COUNT    a count sentence with another number (1..4, as the generator makes scenes)
 * </pre>
 *
 * Half of the colour, shape, place and absent-object foils are <em>binding</em> foils where the
 * scene allows: the new colour, shape or cell is another object's, and an absent object joins one
 * present object's colour to another's shape (ARO's and SugarCrepe's swapped attributes). Every
 * word of such a foil is true of something in the image; only the binding is wrong, which is the
 * error the compact SFT model makes ("a red triangle" beside a red circle and a purple triangle)
 * and which a bag-of-attributes scorer cannot see.
 *
 * Every foil is false of its scene: the generator gives each colour + shape at most one object, so
 * an object foil names either an absent object or a present one with a wrong attribute, and the
 * {@link Judge} marks it wrong (tested for every kind).
 */
public final class Foils {
    /** What a foil changes. */
    public enum Kind {
        COLOUR, SHAPE, SIZE, PLACE, ABSENT, COUNT
    }

    /** A true sentence and the object it states (null for a count sentence). */
    public record Fact(String text, SceneObject object) {}

    /** A false sentence: what it changed, the object it states (null for a count), its text. */
    public record Foil(Kind kind, SceneObject object, String text) {}

    /** The largest object count a count foil says (the generator's scenes hold 1 to 4). */
    static final int MAX_COUNT = 4;

    private final Describer describer;
    private final Random rng;

    /** {@code rng} picks the fact, the kind and the replacement; {@code describer} the phrasing. */
    public Foils(Describer describer, Random rng) {
        this.describer = describer;
        this.rng = rng;
    }

    /** A true sentence about {@code s}: about one of its objects, or (one time in {@code objects + 1}) its count. */
    public Fact fact(Scene s) {
        int k = rng.nextInt(s.objects().size() + 1);
        if (k == s.objects().size()) return new Fact(describer.countSentence(k), null);
        SceneObject o = s.objects().get(k);
        return new Fact(describer.objectSentence(o), o);
    }

    /**
     * {@code n} foils of {@code fact}, of distinct kinds chosen at random among those that apply
     * (object kinds for an object sentence, COUNT for a count sentence; for a count, only one).
     */
    public List<Foil> foils(Scene s, Fact fact, int n) {
        List<Foil> out = new ArrayList<>();
        if (fact.object() == null) {
            if (n > 0) out.add(foil(s, null, Kind.COUNT));
            return out;
        }
        List<Kind> kinds = new ArrayList<>(List.of(Kind.COLOUR, Kind.SHAPE, Kind.SIZE, Kind.PLACE, Kind.ABSENT));
        for (int i = 0; i < n && !kinds.isEmpty(); i++) out.add(foil(s, fact.object(), kinds.remove(rng.nextInt(kinds.size()))));
        return out;
    }

    /** One foil of {@code kind} for object {@code o} of {@code s} (o is ignored for COUNT). */
    public Foil foil(Scene s, SceneObject o, Kind kind) {
        if (kind == Kind.COUNT) {
            int n = s.objects().size(), m;
            do {
                m = 1 + rng.nextInt(MAX_COUNT);
            } while (m == n);
            return new Foil(kind, null, describer.countSentence(m));
        }
        boolean binding = rng.nextBoolean();
        List<SceneObject> others = new ArrayList<>();
        for (SceneObject x : s.objects()) if (x != o) others.add(x);
        SceneObject f = switch (kind) {
            case COLOUR -> {
                List<Colour> seen = others.stream().map(SceneObject::colour).filter(c -> c != o.colour()).distinct().toList();
                Colour c = binding && !seen.isEmpty() ? seen.get(rng.nextInt(seen.size())) : other(Colour.values(), o.colour());
                yield new SceneObject(o.shape(), c, o.size(), o.cell());
            }
            case SHAPE -> {
                List<Shape> seen = others.stream().map(SceneObject::shape).filter(x -> x != o.shape()).distinct().toList();
                Shape sh = binding && !seen.isEmpty() ? seen.get(rng.nextInt(seen.size())) : other(Shape.values(), o.shape());
                yield new SceneObject(sh, o.colour(), o.size(), o.cell());
            }
            case SIZE -> new SceneObject(o.shape(), o.colour(), o.size() == Size.SMALL ? Size.LARGE : Size.SMALL, o.cell());
            case PLACE -> {
                int cell;
                if (binding && !others.isEmpty()) {
                    cell = others.get(rng.nextInt(others.size())).cell();
                } else {
                    cell = rng.nextInt(8);
                    if (cell >= o.cell()) cell++;
                }
                yield new SceneObject(o.shape(), o.colour(), o.size(), cell);
            }
            case ABSENT -> {
                if (binding) {
                    List<SceneObject> swapped = new ArrayList<>();   // one object's colour on another's shape
                    for (SceneObject a : s.objects()) {
                        for (SceneObject b : s.objects()) if (!s.has(a.colour(), b.shape())) swapped.add(new SceneObject(b.shape(), a.colour(), b.size(), b.cell()));
                    }
                    if (!swapped.isEmpty()) yield swapped.get(rng.nextInt(swapped.size()));
                }
                Colour c;
                Shape sh;
                do {
                    c = Colour.values()[rng.nextInt(Colour.values().length)];
                    sh = Shape.values()[rng.nextInt(Shape.values().length)];
                } while (s.has(c, sh));
                yield new SceneObject(sh, c, Size.values()[rng.nextInt(Size.values().length)], rng.nextInt(9));
            }
            case COUNT -> throw new AssertionError();
        };
        return new Foil(kind, f, describer.objectSentence(f));
    }

    private <E> E other(E[] values, E not) {
        int i = rng.nextInt(values.length - 1);
        return values[i] == not ? values[values.length - 1] : values[i];
    }
}
