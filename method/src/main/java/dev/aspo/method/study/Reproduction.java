package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.Record;
import dev.aspo.method.train.ClipTrainer;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.train.PolicyModels;
import dev.aspo.method.train.Progress;
import dev.aspo.method.train.RunDirectory;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.method.train.Trainer;
import dev.aspo.method.world.Describer;
import dev.aspo.method.world.Foils;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.SentenceJudgement;
import dev.aspo.method.world.Verdict;
import dev.aspo.method.world.WorldWriter;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.image.RgbImage;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The reproduction study, {@code aspo reproduce}: per seed,
 * <pre>
 *   world (train + held-out scenes) -&gt; tokenizer -&gt; CLIP (contrastive) -&gt; LLaVA SFT (vision tower = CLIP's)
 *     -&gt; SeVa pairs: SFT answer on the clean image (chosen) vs on a DDPM-noised copy, t = 500 (rejected),
 *        identical pairs dropped, chosen sentences labelled by the judge
 *     -&gt; from the SFT checkpoint and the same pairs: dpo, aspo (alpha 0.5), aspo_s (1), aspo_p (0),
 *        aspo_oracle (judge's labels), aspo_inverse (rejected weighting inverse)
 *     -&gt; evaluation of every model and the SFT model on held-out scenes
 * </pre>
 * then {@link StudyReport} writes {@code results.json}, {@code results.md} and the plots. Each stage
 * leaves a marker {@code seed-S/.stages/NAME.json} (with its wall time) when it is complete, so a
 * second run skips finished stages; the trainers resume from their last checkpoint.
 */
public final class Reproduction {
    /** The methods of the study, in table order ({@link StudyMethods}). */
    public static final List<String> METHODS = StudyMethods.METHODS;
    static final int MAX_LENGTH = 160, DIFFUSION_STEP = 500;
    /** As LLaVA-1.5, SFT and preference training keep the CLIP vision tower frozen (training it let the features decay). */
    static final String FROZEN = "vision_tower.";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final StudyScale scale;
    private final int seeds;
    private final Path out;
    private final PrintStream log;
    private final PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

    /** Stop every seed after this stage (null: run all and write the report). */
    private String until;

    /** Run only this seed (0: all of 1..seeds). */
    private int onlySeed;

    /**
     * Runs only seed {@code seed} of 1..seeds and writes no report: seeds run side by side in separate
     * processes on the same folder (each seed's folder is locked while it runs); a last run without it
     * finds every stage done and writes the report.
     */
    public Reproduction onlySeed(int seed) {
        if (seed < 1 || seed > seeds) throw new IllegalArgumentException("--only-seed must be between 1 and --seeds (" + seeds + "), got " + seed);
        this.onlySeed = seed;
        return this;
    }

    /** Runs each seed up to and including stage {@code stage} (e.g. clip, sft, pairs) and writes no report. */
    public Reproduction until(String stage) {
        if (stage != null && !stages().contains(stage)) {
            throw new IllegalArgumentException("unknown stage \"" + stage + "\" (stages: " + String.join(", ", stages()) + ")");
        }
        this.until = stage;
        progress.stopAfter(stage);
        return this;
    }

    /** The stages of one seed, in order. */
    public static List<String> stages() {
        // the SFT model is evaluated as soon as its held-out pairs exist: --until eval-sft measures it alone
        List<String> st = new ArrayList<>(List.of("world", "tokenizer", "clip", "sft", "pairs", "eval-sft", "recipe"));
        for (String m : METHODS) if (!m.equals("sft")) st.add("train-" + m);
        for (String m : METHODS) if (!m.equals("sft")) st.add("eval-" + m);
        for (String m : METHODS) st.add("sample-" + m);   // after the greedy evaluations: they add a measure, change none
        return st;
    }

    public Reproduction(StudyScale scale, int seeds, Path out, PrintStream log) {
        if (seeds < 1) throw new IllegalArgumentException("--seeds must be at least 1, got " + seeds);
        if (Files.exists(out) && !Files.isDirectory(out)) throw new IllegalArgumentException(out + " exists and is not a directory");
        this.scale = scale;
        this.seeds = seeds;
        this.out = out;
        this.log = log;
        this.progress = new StudyProgress(log, System.console() != null && log == System.out, scale, seeds, out);
    }

    private final StudyProgress progress;
    private int currentSeed;
    private String currentStage;

    /** The progress listener of the stage now running. */
    private dev.aspo.method.train.StepListener steps() {
        return progress.stage(currentSeed, currentStage);
    }

    /** Runs (or continues) the study and writes the report; returns results.json. */
    public Path run() throws IOException {
        Files.createDirectories(out);
        checkScale();
        for (int s = 1; s <= seeds; s++) {
            if (onlySeed == 0 || s == onlySeed) runSeedLocked(s);
        }
        return until != null || onlySeed != 0 ? null : StudyReport.write(out, scale, seeds, log);
    }

    /** One seed, holding its folder's lock: two processes never run the same seed at once. */
    private void runSeedLocked(int seed) throws IOException {
        Path d = seedDir(out, seed);
        Files.createDirectories(d);
        try (FileChannel ch = FileChannel.open(d.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = tryLock(ch)) {
            if (lock == null) throw new IllegalStateException(d + " is being run by another process (its .lock is held); wait for it or stop it");
            runSeed(seed);
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException e) {   // held by this process
            return null;
        }
    }

    /** A study directory belongs to one scale and its settings: mixing them would average unlike runs. */
    private void checkScale() throws IOException {
        Path f = out.resolve("study.json");
        JsonNode want = JSON.valueToTree(scale.settings());
        if (Files.isRegularFile(f)) {
            JsonNode was = readState(f);
            if (!was.path("scale").asText().equals(scale.name())) {
                throw new IllegalArgumentException(out + " holds a " + was.path("scale").asText() + " study; use another --out for scale "
                        + scale.name());
            }
            // a setting newer than the folder: the code that made it ran as the setting's value before it existed
            JsonNode builtIn = JSON.valueToTree(StudyScale.of(scale.name()).settings());
            if (was.has("settings") && was.get("settings").isObject()) {
                ObjectNode recorded = (ObjectNode) was.get("settings");
                want.fieldNames().forEachRemaining(k -> {
                    if (!recorded.has(k)) recorded.set(k, JSON.valueToTree(StudyScale.valueBefore(k, builtIn.get(k))));
                });
            }
            if (was.has("settings") && !was.get("settings").equals(want)) {
                List<String> diff = new ArrayList<>();
                was.get("settings").fields().forEachRemaining(e -> {
                    if (!e.getValue().equals(want.get(e.getKey()))) diff.add(e.getKey() + " " + e.getValue() + " -> " + want.get(e.getKey()));
                });
                throw new IllegalArgumentException(out + " holds a study with other settings (" + String.join(", ", diff)
                        + "); use another --out");
            }
        } else {
            ObjectNode n = JSON.createObjectNode();
            n.put("scale", scale.name());
            n.set("settings", want);
            HfJson.writeText(f, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        }
    }

    static JsonNode readState(Path f) throws IOException {
        try {
            return JSON.readTree(f.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(f + " is not valid JSON (" + e.getOriginalMessage() + "); it records the study's "
                    + "settings: restore it or start the study in another --out");
        }
    }

    static Path seedDir(Path out, int seed) {
        return out.resolve("seed-" + seed);
    }

    private void runSeed(int seed) throws IOException {
        Path d = seedDir(out, seed);
        Files.createDirectories(d.resolve(".stages"));
        RunDirectory.removeLeftovers(d, Duration.ZERO);   // half-written files of a killed study (its runs clean their own)
        stage(d, seed, "world", () -> {
            WorldWriter.write(d.resolve("world"), scale.trainScenes(), seed, StudyModels.IMAGE_SIZE, scale.placeFirst() == 1, scale.sftProbes());
            WorldWriter.write(d.resolve("world-eval"), scale.evalScenes(), 1_000_000L + seed, StudyModels.IMAGE_SIZE);
            WorldWriter.write(d.resolve("world-val"), scale.valScenes(), 2_000_000L + seed, StudyModels.IMAGE_SIZE);
        });
        stage(d, seed, "tokenizer", () -> HfJson.writeText(d.resolve("tokenizer.json"), StudyModels.tokenizer(corpus(d)).toJson()));
        if (until != null && stages().indexOf(until) < stages().indexOf("clip")) return;
        Tokenizer tok = Tokenizer.fromFile(d.resolve("tokenizer.json"));
        stage(d, seed, "clip", () -> trainClip(d, seed, tok));
        stage(d, seed, "sft", () -> trainSft(d, seed, tok));
        stage(d, seed, "pairs", () -> new SevaPairs(scale, log).make(d, seed, tok));
        stage(d, seed, "eval-sft", () -> new StudyEvaluation(scale).evaluate(d, tok, "sft"));
        PreferenceRuns prefs = new PreferenceRuns(scale, log, quiet, this::steps);
        stage(d, seed, "recipe", () -> prefs.chooseRecipe(d, seed, tok));
        for (String m : METHODS) {
            if (!m.equals("sft")) stage(d, seed, "train-" + m, () -> prefs.trainPreference(d, seed, tok, m));
        }
        for (String m : METHODS) {
            if (!m.equals("sft")) stage(d, seed, "eval-" + m, () -> new StudyEvaluation(scale).evaluate(d, tok, m));
        }
        if (scale.evalSamples() > 0) {
            for (String m : METHODS) stage(d, seed, "sample-" + m, () -> new StudyEvaluation(scale).sample(d, tok, m));
        }
    }

    interface Body {
        void run() throws IOException;
    }

    private void stage(Path d, int seed, String name, Body body) throws IOException {
        Path marker = d.resolve(".stages").resolve(name + ".json");
        if (Files.isRegularFile(marker)) return;
        if (until != null && stages().indexOf(name) > stages().indexOf(until)) return;
        log.printf(Locale.ROOT, "[%s seed %d] %s ...%n", scale.name(), seed, name);
        currentSeed = seed;
        currentStage = name;
        long t0 = System.nanoTime();
        body.run();
        double secs = (System.nanoTime() - t0) / 1e9;
        ObjectNode n = JSON.createObjectNode();
        n.put("seconds", secs);
        HfJson.writeText(marker, JSON.writeValueAsString(n));
        progress.refresh();
        log.printf(Locale.ROOT, "[%s seed %d] %s done in %.1f s; study ETA ~%s%n", scale.name(), seed, name, secs,
                Progress.time(progress.remainingAfter(seed, name)));
    }

    // ---- world and tokenizer ------------------------------------------------------------------

    /** The training world's SFT-format files (relative to the seed folder): the SFT data, then the colour questions. */
    private static final List<String> SFT_FORMAT_FILES = List.of("world/sft.jsonl", "world/colour-questions.jsonl");

    /** Every text of the training world: SFT prompts and answers (which include the descriptions) and the colour questions. */
    private static List<String> corpus(Path d) throws IOException {
        List<String> texts = new ArrayList<>();
        for (String f : SFT_FORMAT_FILES) {
            for (Record r : Dataset.load(d.resolve(f), Dataset.Kind.SFT, false).records()) {
                texts.add(r.prompt());
                texts.add(r.response());
            }
        }
        return texts;
    }

    /** The scenes of {@code world/scenes.jsonl}, by id. */
    /** The scenes of a world folder by id; a bad line is an error naming the file and line. */
    static Map<Integer, Scene> scenes(Path world) throws IOException {
        Map<Integer, Scene> m = new LinkedHashMap<>();
        Path file = world.resolve("scenes.jsonl");
        List<String> lines = Files.readAllLines(file);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            try {
                JsonNode n = JSON.readTree(lines.get(i));
                if (!n.path("id").isInt()) throw new IllegalArgumentException("no integer \"id\"");
                m.put(n.get("id").asInt(), Scene.fromJson(n.get("scene")));
            } catch (IOException | IllegalArgumentException e) {
                String why = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? "not JSON (" + j.getOriginalMessage() + ")"
                        : e.getMessage();
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + why);
            }
        }
        return m;
    }

    static Path image(Path world, int id) {
        return world.resolve(String.format(Locale.ROOT, "images/%06d.png", id));
    }

    // ---- CLIP and SFT -------------------------------------------------------------------------

    private void trainClip(Path d, int seed, Tokenizer tok) throws IOException {
        // captions: one fact a sentence, in every phrasing the describer uses (ASPO scores single
        // sentences), each with foils that change exactly one attribute or name an absent object
        // (NegCLIP): without them contrastive training tells images apart by colour and place and
        // never binds a shape or a size to its object (measured: sentence AUROC at chance)
        Map<Integer, Scene> scenes = scenes(d.resolve("world"));
        Random rng = new Random(seed * 31L + 7);
        Foils foils = new Foils(new Describer(rng), rng);
        List<String> lines = new ArrayList<>();
        for (var e : scenes.entrySet()) {
            String img = "world/images/" + String.format(Locale.ROOT, "%06d.png", e.getKey());
            for (int c = 0; c < scale.clipCaptions(); c++) {
                Foils.Fact fact = foils.fact(e.getValue());
                List<String> negatives = new ArrayList<>();
                for (Foils.Foil f : foils.foils(e.getValue(), fact, scale.clipFoils())) negatives.add(f.text());
                lines.add(captionLine(img, fact.text(), negatives));
            }
        }
        HfJson.writeText(d.resolve("clip-captions.jsonl"), String.join("\n", lines) + "\n");
        Path init = d.resolve("clip-init");
        if (!Files.isRegularFile(init.resolve("model.safetensors"))) {
            Path tmp = d.resolve(".clip-init.tmp");
            Files.createDirectories(tmp);
            StudyModels.clip(tok, seed, scale.clipWidth(), scale.clipLayers(), scale.clipPositionStd()).save(tmp);
            ClipImageProcessor.clip(StudyModels.IMAGE_SIZE).save(tmp);
            Files.writeString(tmp.resolve("tokenizer.json"), tok.toJson());
            Files.move(tmp, init, StandardCopyOption.ATOMIC_MOVE);
        }
        Map<String, String> o = RunSettings.common(d, seed, "clip", init, scale.clipSteps(), scale.clipBatch(), scale.clipLr());
        o.put("warmup_steps", String.valueOf(scale.clipSteps() / 20));
        o.put("train_file", d.resolve("clip-captions.jsonl").toString());
        o.put("weight_decay", "0.1");
        ClipTrainer trainer = new ClipTrainer(TrainConfig.of(o), quiet);
        trainer.onStep(steps());
        trainer.run(RunSettings.resumeFrom(d.resolve("clip")));
        measureScorerOnFoils(d, seed, tok);
    }

    /**
     * The trained scorer on its own task, held out: for each validation scene a true fact and its
     * foils of every kind, ranked by {@code S_i} and by the text-only baseline
     * ({@code scorer-foils.json}; the study's verdict on the scorer uses the SFT model's own
     * sentences, in the evaluation). Validation scenes, so that CLIP's settings can be chosen on it.
     */
    private void measureScorerOnFoils(Path d, int seed, Tokenizer tok) throws IOException {
        Map<Integer, Scene> scenes = scenes(d.resolve("world-val"));
        List<Path> images = new ArrayList<>();
        for (int id : scenes.keySet()) images.add(image(d.resolve("world-val"), id));
        Random rng = new Random(seed * 131L + 3);
        var items = ScorerQuality.foilItems(images, new ArrayList<>(scenes.values()), new Foils(new Describer(rng), rng));
        Path clip = Trainer.latestCheckpoint(d.resolve("clip"));
        ClipModel model = ClipModel.load(clip);
        ClipImageProcessor processor = ClipImageProcessor.load(clip);
        ScorerQuality.Result r = new ScorerQuality(model, tok, processor).measure(items);
        ObjectNode n = JSON.createObjectNode();
        n.put("foil_auroc", r.sentenceAuroc());
        n.put("text_only_foil_auroc", r.textOnlyAuroc());
        n.put("sentences", r.n());
        var byKind = n.putObject("foil_auroc_by_kind");
        r.byKind().forEach((k, v) -> byKind.put(k.name().toLowerCase(Locale.ROOT), v));
        // can LLaVA's features tell the attributes apart at all? (a linear probe on the layer it reads)
        Map<Integer, Scene> train = scenes(d.resolve("world"));
        List<Scene> probeScenes = new ArrayList<>();
        List<Path> probeImages = new ArrayList<>();
        for (int id : train.keySet()) {
            if (probeScenes.size() == 1500) break;
            probeScenes.add(train.get(id));
            probeImages.add(image(d.resolve("world"), id));
        }
        Map<String, Double> probe = VisionProbe.accuracy(model, processor, probeImages, probeScenes,
                scale.visionLayer());
        var vp = n.putObject("vision_probe");
        probe.forEach(vp::put);
        HfJson.writeText(d.resolve("scorer-foils.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        log.printf(Locale.ROOT, "[%s seed %d] CLIP on held-out facts vs foils: AUROC %.3f (text only %.3f), by kind %s; linear probe"
                + " of the patches LLaVA reads: %s%n", scale.name(), seed, r.sentenceAuroc(), r.textOnlyAuroc(), byKind, vp);
    }

    private static String captionLine(String image, String text, List<String> negatives) {
        ObjectNode n = JSON.createObjectNode();
        n.putArray("images").add(image);
        n.put("text", text);
        if (!negatives.isEmpty()) {
            var a = n.putArray("negatives");
            negatives.forEach(a::add);
        }
        return n.toString();
    }

    private void trainSft(Path d, int seed, Tokenizer tok) throws IOException {
        Path init = d.resolve("sft-init");
        if (!Files.isRegularFile(init.resolve("model.safetensors"))) {
            ClipModel clip = ClipModel.load(Trainer.latestCheckpoint(d.resolve("clip")));
            Path tmp = d.resolve(".sft-init.tmp");
            Files.createDirectories(tmp);
            new LlavaPolicy(StudyModels.llava(tok, clip, seed, scale.visionLayer(), scale.decoderLayers(), scale.decoderWidth()), ClipImageProcessor.clip(StudyModels.IMAGE_SIZE)).save(tmp);
            Files.writeString(tmp.resolve("tokenizer.json"), tok.toJson());
            Files.move(tmp, init, StandardCopyOption.ATOMIC_MOVE);
        }
        // mixed: the colour questions ("Is there a red object in the image?") beside the SFT data
        // from the first step (docs/RESULTS.md, run E9): alone, the curriculum's colour phase sat at
        // chance for thousands of steps on some seeds' describing models
        String data = scale.sftColourMixed() == 1 ? mixedSftData(d) : "world/sft.jsonl";
        if (scale.sftColourSteps() == 0) {
            trainChecked(d, seed, 0, tok, init, "sft", data, true, scale.sftSteps(), scale.sftMinSteps(), scale.sftCheckEvery(),
                    scale.sftTargetError() > 0 ? described(d, tok, scale.sftTargetPopeF1()) : null);
            return;
        }
        // The curriculum (docs/RESULTS.md, "An SFT curriculum that grounds POPE"): trained on the SFT
        // data alone, the model describes well but answers every yes/no probe alike. So: the SFT data
        // (mixed with the colour questions when sftColourMixed) for sftMinSteps (it learns to
        // describe); colour questions alone until it answers those of
        // the validation scenes (it learns to look up the colour a question names, after a plateau
        // at chance whose length depends on the seed), at most sftColourSteps; then the SFT data
        // again, checked every LOOKUP_CHECK_EVERY steps, until the lookup has become the probes'
        // colour-and-shape one (validation POPE F1 and yes-ratio) with the descriptions back, at most
        // sftLookupSteps.
        Gate colourGate = colourAnswered(d, tok);
        Phase colour = null;
        for (int order = 0; order < scale.sftDescribeOrders() && (colour == null || colour.failedItsGate()); order++) {
            // whether a describing model can learn the colour lookup depends on the order it saw
            // its data in, not only on the seed (docs/RESULTS.md, "Another data order"): after one
            // order seeds 1 and 2 of the full study sat at chance for 5000 and 8000 colour steps,
            // after another they learned the questions in 1000 and about 6000
            if (order > 0) {
                log.printf(Locale.ROOT, "[%s seed %d] the describing model did not learn the colour questions; describing again in another data order%n",
                        scale.name(), seed);
            }
            Path described = trainChecked(d, seed, order, tok, init, describeRun(order), data, true, scale.sftMinSteps(), 0, 0, null).checkpoint();
            colour = trainChecked(d, seed, 0, tok, described, colourRun(order), "world/colour-questions.jsonl", true, scale.sftColourSteps(),
                    scale.sftCheckEvery(), scale.sftCheckEvery(), colourGate);
        }
        if (colour.failedItsGate()) {
            // the last resort: from the untrained LLaVA the colour plateau has ended after 1200-4500
            // steps on every seed tried but one, but the descriptions then come back late or not at
            // all (seed 1 of the full study at step 19000 of the last phase, seed 2 not in 24000)
            log.printf(Locale.ROOT, "[%s seed %d] the describing model did not learn the colour questions; from the untrained LLaVA%n", scale.name(), seed);
            colour = trainChecked(d, seed, 0, tok, init, "sft-colour-init", "world/colour-questions.jsonl", true, scale.sftColourSteps(),
                    scale.sftCheckEvery(), scale.sftCheckEvery(), colourGate);
        }
        trainChecked(d, seed, 0, tok, colour.checkpoint(), "sft", "world/sft.jsonl", false, scale.sftLookupSteps(), LOOKUP_CHECK_EVERY, LOOKUP_CHECK_EVERY,
                described(d, tok, scale.sftTargetPopeF1()));
    }

    /**
     * {@code world/sft-mixed.jsonl} (relative to the seed folder): the lines of the SFT data, then
     * those of the colour questions, written once (atomically); the trainer shuffles them together.
     * It sits beside both, so their image paths hold.
     */
    static String mixedSftData(Path d) throws IOException {
        String name = "world/sft-mixed.jsonl";
        Path mixed = d.resolve(name);
        if (Files.isRegularFile(mixed)) return name;
        StringBuilder text = new StringBuilder();
        for (String f : SFT_FORMAT_FILES) {
            for (String line : Files.readAllLines(d.resolve(f))) {
                if (!line.isBlank()) text.append(line).append('\n');
            }
        }
        HfJson.writeText(mixed, text.toString());
        return name;
    }

    /**
     * Steps between the curriculum's last-phase checks: the colour-and-shape lookup forms over
     * thousands of steps (seed 1: between 6000 and 12000), and a check (the validation scenes described
     * and probed) costs about as much as 200 steps.
     */
    static final int LOOKUP_CHECK_EVERY = 1000;

    /** The SFT runs of a seed folder, in the order they train; "sft" holds the SFT model (the only one without the curriculum). */
    static final List<String> SFT_RUNS = sftRuns();

    /** The most data orders the describing phase may be tried in (sft_describe_orders). */
    static final int MAX_DESCRIBE_ORDERS = 3;

    private static List<String> sftRuns() {
        List<String> runs = new ArrayList<>();
        for (int order = 0; order < MAX_DESCRIBE_ORDERS; order++) {
            runs.add(describeRun(order));
            runs.add(colourRun(order));
        }
        runs.add("sft-colour-init");
        runs.add("sft");
        return List.copyOf(runs);
    }

    /** The curriculum's describing run in data order {@code order} (0: the seed's own, as before orders were tried). */
    static String describeRun(int order) {
        return order == 0 ? "sft-describe" : "sft-describe-order" + (order + 1);
    }

    /** The colour phase that follows {@link #describeRun}. */
    static String colourRun(int order) {
        return order == 0 ? "sft-colour" : "sft-colour-order" + (order + 1);
    }

    /** The share of the validation scenes' colour questions the curriculum's colour phase must answer right. */
    static final double COLOUR_TARGET = 0.9;

    /** A check after a chunk of SFT steps, on the validation scenes: whether the run may stop, and what it saw. */
    interface Gate {
        Check check(LlavaPolicy policy) throws IOException;
    }

    record Check(boolean pass, String seen) {}

    /**
     * A finished SFT run: its last checkpoint, and whether its gate was checked and never passed
     * (false when it passed, and when no check ran: no gate, or a run too short for one, as smoke's).
     */
    record Phase(Path checkpoint, boolean failedItsGate) {}

    /**
     * At most sftTargetError of the validation description sentences wrong and (when {@code popeF1}
     * &gt; 0) a validation POPE random F1 of at least {@code popeF1} at a yes-ratio between 0.35 and 0.65.
     */
    private Gate described(Path d, Tokenizer tok, double popeF1) {
        ClipImageProcessor proc = ClipImageProcessor.clip(StudyModels.IMAGE_SIZE);
        Path val = d.resolve("world-val");   // never the evaluation scenes
        return policy -> {
            ModelEvaluation.Descriptions described = ModelEvaluation.describe(policy, tok, proc, val);
            double err = sentenceErrorRate(described);
            String seen = String.format(Locale.ROOT, "%.1f%% of validation description sentences wrong", 100 * err);
            boolean grounded = true;
            if (popeF1 > 0) {   // the yes/no answers ground later than the descriptions: POPE on the validation scenes too
                ObjectNode v = ModelEvaluation.run(policy, tok, proc, val, scale.valScenes(), null, described);
                double f1 = v.get("pope_random_f1").asDouble(), yes = v.get("pope_yes_ratio").asDouble();
                grounded = f1 >= popeF1 && yes >= 0.35 && yes <= 0.65;
                seen += String.format(Locale.ROOT, ", validation POPE F1 %.3f (yes-ratio %.2f)", f1, yes);
            }
            return new Check(err <= scale.sftTargetError() && grounded, seen);
        };
    }

    /** At least COLOUR_TARGET of the validation scenes' colour questions answered right (read once, asked at every check). */
    private static Gate colourAnswered(Path d, Tokenizer tok) throws IOException {
        List<Answerer.Question> qs = new ArrayList<>();
        List<Boolean> truth = new ArrayList<>();
        for (Record r : Dataset.load(d.resolve("world-val/colour-questions.jsonl"), Dataset.Kind.SFT, false).records()) {
            qs.add(new Answerer.Question(RgbImage.read(r.images().get(0)), r.prompt()));   // resolved against the file's folder
            truth.add(Judge.yesNo(r.response()));
        }
        return policy -> {
            List<String> answers = new Answerer(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), 4).answer(qs);
            int right = 0;
            for (int i = 0; i < answers.size(); i++) if (truth.get(i).equals(Judge.yesNo(answers.get(i)))) right++;
            double acc = qs.isEmpty() ? 0 : (double) right / qs.size();
            return new Check(acc >= COLOUR_TARGET, String.format(Locale.ROOT, "%.1f%% of validation colour questions right", 100 * acc));
        };
    }

    /**
     * One SFT run from {@code init} on {@code data} (relative to the seed folder) into {@code run}, at a
     * constant lr (after a warm-up when {@code warmUp}), in chunks of {@code checkEvery} steps (one
     * chunk when 0 or without a gate): after each chunk from {@code minSteps} on (the last included)
     * the gate checks the model on the validation scenes and the run stops once it passes; otherwise
     * at {@code maxSteps}. When a compact LLaVA starts to use the image depends on the seed (at 6000
     * steps one seed had 15% wrong sentences, another 78%). {@code order} above 0 trains with the
     * seed plus 1000 times it: another data order.
     */
    private Phase trainChecked(Path d, int seed, int order, Tokenizer tok, Path init, String runName, String data, boolean warmUp, int maxSteps,
            int minSteps, int checkEvery, Gate gate) throws IOException {
        boolean checked = gate != null && checkEvery > 0, everChecked = false;
        int total = 0;
        Path run = d.resolve(runName);
        while (true) {
            total = Math.min(maxSteps, total + (checked ? checkEvery : maxSteps));
            Map<String, String> o = RunSettings.common(d, seed + 1000 * order, runName, init, total, scale.sftBatch(), scale.sftLr());
            o.put("train_file", d.resolve(data).toString());
            o.put("warmup_steps", warmUp ? String.valueOf(Math.min(300, maxSteps / 20)) : "0");
            if (scale.freezeVision() == 1) o.put("freeze", FROZEN);
            o.put("min_lr_ratio", "1.0");
            o.put("save_every", String.valueOf(total));
            Path last = Files.isDirectory(run) ? Trainer.latestCheckpoint(run) : null;
            int lastStep = last == null ? 0 : Integer.parseInt(last.getFileName().toString().substring("checkpoint-".length()));
            if (lastStep > total) continue;   // a continued study: this chunk and its check were passed before
            if (lastStep < total) {
                Trainer trainer = new Trainer(Trainer.Mode.SFT, TrainConfig.of(o), PolicyModels.load(init), null, tok, null, quiet);
                trainer.onStep(steps());
                trainer.run(RunSettings.resumeFrom(run));
                keepOnlyLatest(run);
            }
            if (checked && total >= minSteps) {
                Check c = gate.check(LlavaPolicy.load(Trainer.latestCheckpoint(run)));
                log.printf(Locale.ROOT, "[%s seed %d] %s step %d: %s%n", scale.name(), seed, runName, total, c.seen());
                if (c.pass()) return new Phase(Trainer.latestCheckpoint(run), false);
                everChecked = true;
            }
            if (total >= maxSteps) return new Phase(Trainer.latestCheckpoint(run), everChecked);
        }
    }

    /** Share of wrong sentences in a model's descriptions (1 when they hold no sentence). */
    private static double sentenceErrorRate(ModelEvaluation.Descriptions described) {
        long all = 0, wrong = 0;
        for (int i = 0; i < described.answers().size(); i++) {
            for (SentenceJudgement j : Judge.judge(described.scenes().get(i), described.answers().get(i)).sentences()) {
                all++;
                if (j.verdict() != Verdict.CORRECT) wrong++;
            }
        }
        return all == 0 ? 1 : (double) wrong / all;
    }

    /** Removes all but the newest checkpoint of a run (the chunks would otherwise keep one each). */
    private static void keepOnlyLatest(Path run) throws IOException {
        Path keep = Trainer.latestCheckpoint(run);
        try (var st = Files.newDirectoryStream(run, "checkpoint-*")) {
            for (Path p : st) if (!p.equals(keep)) Trainer.deleteTree(p);
        }
    }

}
