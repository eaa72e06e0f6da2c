package dev.aspo.method.world;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Writes a shapes-world dataset; the same (n, seed, px) gives byte-identical files.
 *
 * <pre>
 *   DIR/images/000000.png ...   the rendered scenes (px x px RGB)
 *   DIR/scenes.jsonl    {"id":0,"image":"images/000000.png","scene":{"objects":[...]}}
 *   DIR/sft.jsonl       {"images":["images/000000.png"],"prompt":...,"response":...,"scene_id":0}
 *                       per scene: a description, one attribute question, yes-probes and as many
 *                       no-probes answered "Yes." / "No." (one of each unless asked for more; each
 *                       yes-question is asked again of a later scene without the object:
 *                       SHAPES-style balance, {@link BalancedProbes}),
 *                       and a place question "What is in the top left corner?" ("A small red
 *                       circle." / "Nothing.", {@link Describer#placeQuestion})
 *   DIR/sft-probes.jsonl the yes/no records of sft.jsonl alone (the SFT curriculum's second stage)
 *   DIR/colour-questions.jsonl {"images":[...],"prompt":"Is there a red object in the image?","response":"Yes.",...}
 *                       per scene a colour it holds and one it lacks, SHAPES-balanced ({@link ColourQuestions}):
 *                       the curriculum's first stage
 *   DIR/captions.jsonl  {"images":["images/000000.png"],"text":...,"scene_id":0}: the whole description, in
 *                       the caption format aspo train clip reads
 *   DIR/pope.jsonl      {"images":[...],"prompt":question,"answer":"yes"|"no","split":"random"|...,"scene_id":0}
 *                       every scene's probes in all three splits; POPULAR uses the object
 *                       frequencies of these scenes
 * </pre>
 *
 * Every file is written under a temporary name and then renamed, so a reader never sees half a file;
 * files of these names already in DIR are replaced, other files are left alone. The JSONL files are
 * streamed, so memory does not grow with N beyond the scenes themselves.
 */
public final class WorldWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private WorldWriter() {
    }

    /** Writes {@code n} scenes from {@code seed} as {@code px}-pixel images into {@code dir} (created if missing). */
    public static void write(Path dir, int n, long seed, int px) throws IOException {
        write(dir, n, seed, px, false);
    }

    /** The same; with {@code placeFirst} the descriptions name each place before its object ({@link Describer}). */
    public static void write(Path dir, int n, long seed, int px, boolean placeFirst) throws IOException {
        write(dir, n, seed, px, placeFirst, 1);
    }

    /**
     * The same with up to {@code probePairs} yes-probes a scene in sft.jsonl (as many as it has
     * objects, at most) and as many no-probes: the knob for how much of the SFT signal asks whether
     * an object is there.
     */
    public static void write(Path dir, int n, long seed, int px, boolean placeFirst, int probePairs) throws IOException {
        if (n < 1) throw new IllegalArgumentException("the number of scenes must be at least 1, got " + n);
        if (probePairs < 1) throw new IllegalArgumentException("yes/no probe pairs per scene must be at least 1, got " + probePairs);
        if (px < SceneRenderer.MIN_PX) throw new IllegalArgumentException("the image size must be at least " + SceneRenderer.MIN_PX + " px, got " + px);
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IllegalArgumentException("output " + dir + " exists and is not a directory");
        Path images = Files.createDirectories(dir.resolve("images"));

        SceneGenerator gen = new SceneGenerator(seed);
        List<Scene> scenes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) scenes.add(gen.next());
        Map<String, Integer> freq = ProbeSampler.frequencies(scenes);
        ProbeSampler sampler = new ProbeSampler(freq);
        Random rng = new Random(seed * 0x9E3779B97F4A7C15L + 1);   // text choices: a stream apart from the generator's
        Describer describer = new Describer(rng, placeFirst);
        BalancedProbes yesNo = new BalancedProbes(probePairs);
        ColourQuestions colours = new ColourQuestions();
        Random colourRng = new Random(seed * 0x9E3779B97F4A7C15L + 2);   // its own stream: the other files stay as they were

        try (Jsonl scenesOut = new Jsonl(dir.resolve("scenes.jsonl")); Jsonl sft = new Jsonl(dir.resolve("sft.jsonl"));
                Jsonl captions = new Jsonl(dir.resolve("captions.jsonl")); Jsonl pope = new Jsonl(dir.resolve("pope.jsonl"));
                Jsonl sftProbes = new Jsonl(dir.resolve("sft-probes.jsonl")); Jsonl colourQs = new Jsonl(dir.resolve("colour-questions.jsonl"))) {
            for (int i = 0; i < n; i++) {
                Scene s = scenes.get(i);
                writeScene(i, s, px, images, sampler, yesNo, describer, rng, scenesOut, sft, sftProbes, captions, pope);
                for (ColourQuestions.Question q : colours.next(s, colourRng)) colourQs.add(record(imageName(i), q.text(), ProbeSampler.answerText(q.answer()), i));
            }
            for (Jsonl f : List.of(scenesOut, sft, captions, pope, sftProbes, colourQs)) f.commit();
        }
    }

    private static String imageName(int i) {
        return String.format(Locale.ROOT, "images/%06d.png", i);
    }

    /** One scene: its image and its lines in scenes, sft (its yes/no records in sft-probes too), captions and pope. */
    private static void writeScene(int i, Scene s, int px, Path images, ProbeSampler sampler, BalancedProbes yesNo, Describer describer, Random rng,
            Jsonl scenesOut, Jsonl sft, Jsonl sftProbes, Jsonl captions, Jsonl pope) throws IOException {
        String image = imageName(i);
        writeAtomically(images.resolve(String.format(Locale.ROOT, "%06d.png", i)), out -> ImageIO.write(SceneRenderer.render(s, px), "png", out));

        ObjectNode sceneRec = JSON.createObjectNode();
        sceneRec.put("id", i);
        sceneRec.put("image", image);
        sceneRec.set("scene", s.toJson());
        scenesOut.add(sceneRec);

        String instruction = Describer.DESCRIBE_INSTRUCTIONS.get(rng.nextInt(Describer.DESCRIBE_INSTRUCTIONS.size()));
        String description = describer.describe(s);
        sft.add(record(image, instruction, description, i));
        ObjectNode caption = JSON.createObjectNode();
        caption.putArray("images").add(image);
        caption.put("text", description);
        caption.put("scene_id", i);
        captions.add(caption);
        String question = describer.questions(s, rng).get(0);
        sft.add(record(image, question, describer.answer(s, question), i));
        for (Probe p : yesNo.next(s, sampler, rng)) {
            ObjectNode r = record(image, p.question(), ProbeSampler.answerText(p.answer()), i);
            sft.add(r);
            sftProbes.add(r);
        }
        String place = describer.placeQuestion(s, rng);
        sft.add(record(image, place, describer.answer(s, place), i));
        for (PopeSplit split : PopeSplit.values()) {
            for (Probe p : sampler.probes(s, split, rng)) {
                ObjectNode r = JSON.createObjectNode();
                r.putArray("images").add(image);
                r.put("prompt", p.question());
                r.put("answer", p.answer() ? "yes" : "no");
                r.put("split", split.key());
                r.put("scene_id", i);
                pope.add(r);
            }
        }
    }

    /** A TRL SFT record: {"images":[image],"prompt":...,"response":...,"scene_id":...}. */
    private static ObjectNode record(String image, String prompt, String response, int sceneId) {
        ObjectNode r = JSON.createObjectNode();
        r.putArray("images").add(image);
        r.put("prompt", prompt);
        r.put("response", response);
        r.put("scene_id", sceneId);
        return r;
    }

    /** A JSONL file written under a temporary name; {@link #commit()} renames it into place, close alone discards it. */
    private static final class Jsonl implements AutoCloseable {
        private final Path file, tmp;
        private final Writer out;
        private boolean committed;

        Jsonl(Path file) throws IOException {
            this.file = file;
            this.tmp = file.resolveSibling(file.getFileName() + ".tmp");
            this.out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8);
        }

        void add(ObjectNode record) throws IOException {
            out.write(JSON.writeValueAsString(record));
            out.write('\n');
        }

        void commit() throws IOException {
            out.close();
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
        }

        @Override
        public void close() throws IOException {
            if (committed) return;
            out.close();
            Files.deleteIfExists(tmp);
        }
    }

    private interface Body {
        boolean write(OutputStream out) throws IOException;
    }

    private static void writeAtomically(Path file, Body body) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            if (!body.write(out)) throw new IOException("no writer for " + file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
