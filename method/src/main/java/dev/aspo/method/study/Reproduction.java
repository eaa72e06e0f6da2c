package dev.aspo.method.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.Record;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.train.ClipSimilarity;
import dev.aspo.method.train.ClipTrainer;
import dev.aspo.method.train.LlavaPolicy;
import dev.aspo.method.train.PolicyModel;
import dev.aspo.method.train.PolicyModels;
import dev.aspo.method.train.SimilaritySource;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
    public static final List<String> METHODS = List.of("sft", "dpo", "aspo", "aspo_s", "aspo_p", "aspo_oracle", "aspo_inverse",
            "aspo_rr", "aspo_shuffled", "oracle_mask", "oracle_flip10", "oracle_flip25", "oracle_flip50");
    /** The oracle variants of the dose-response, by the share of flipped sentence labels. */
    static final Map<String, Double> FLIP_RATES = Map.of("aspo_oracle", 0.0, "oracle_flip10", 0.10, "oracle_flip25", 0.25,
            "oracle_flip50", 0.50);
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
        List<String> st = new ArrayList<>(List.of("world", "tokenizer", "clip", "sft", "pairs", "recipe"));
        for (String m : METHODS) if (!m.equals("sft")) st.add("train-" + m);
        for (String m : METHODS) st.add("eval-" + m);
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
        for (int s = 1; s <= seeds; s++) runSeed(s);
        return until != null ? null : StudyReport.write(out, scale, seeds, log);
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

    private static JsonNode readState(Path f) throws IOException {
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
            WorldWriter.write(d.resolve("world"), scale.trainScenes(), seed, StudyModels.IMAGE_SIZE, scale.placeFirst() == 1);
            WorldWriter.write(d.resolve("world-eval"), scale.evalScenes(), 1_000_000L + seed, StudyModels.IMAGE_SIZE);
            WorldWriter.write(d.resolve("world-val"), scale.valScenes(), 2_000_000L + seed, StudyModels.IMAGE_SIZE);
        });
        stage(d, seed, "tokenizer", () -> HfJson.writeText(d.resolve("tokenizer.json"), StudyModels.tokenizer(corpus(d)).toJson()));
        if (until != null && stages().indexOf(until) < stages().indexOf("clip")) return;
        Tokenizer tok = Tokenizer.fromFile(d.resolve("tokenizer.json"));
        stage(d, seed, "clip", () -> trainClip(d, seed, tok));
        stage(d, seed, "sft", () -> trainSft(d, seed, tok));
        stage(d, seed, "pairs", () -> makePairs(d, seed, tok));
        stage(d, seed, "recipe", () -> chooseRecipe(d, seed, tok));
        for (String m : METHODS) {
            if (!m.equals("sft")) stage(d, seed, "train-" + m, () -> trainPreference(d, seed, tok, m));
        }
        for (String m : METHODS) stage(d, seed, "eval-" + m, () -> evaluate(d, tok, m));
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
                StudyProgress.time(progress.remainingAfter(seed, name)));
    }

    // ---- world and tokenizer ------------------------------------------------------------------

    /** Every text of the training world: SFT prompts and answers (which include the descriptions). */
    private static List<String> corpus(Path d) throws IOException {
        List<String> texts = new ArrayList<>();
        for (Record r : Dataset.load(d.resolve("world/sft.jsonl"), Dataset.Kind.SFT, false).records()) {
            texts.add(r.prompt());
            texts.add(r.response());
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
            StudyModels.clip(tok, seed, scale.clipWidth(), scale.clipLayers()).save(tmp);
            ClipImageProcessor.clip(StudyModels.IMAGE_SIZE).save(tmp);
            Files.writeString(tmp.resolve("tokenizer.json"), tok.toJson());
            Files.move(tmp, init, StandardCopyOption.ATOMIC_MOVE);
        }
        Map<String, String> o = common(d, seed, "clip", init, scale.clipSteps(), scale.clipBatch(), scale.clipLr());
        o.put("warmup_steps", String.valueOf(scale.clipSteps() / 20));
        o.put("train_file", d.resolve("clip-captions.jsonl").toString());
        o.put("weight_decay", "0.1");
        ClipTrainer trainer = new ClipTrainer(TrainConfig.of(o), quiet);
        trainer.onStep(steps());
        trainer.run(resumeFrom(d.resolve("clip")));
        measureScorerOnFoils(d, seed, tok);
    }

    /**
     * The trained scorer on its own task, held out: for each evaluation scene a true fact and its
     * foils of every kind, ranked by {@code S_i} and by the text-only baseline
     * ({@code scorer-foils.json}; the study's verdict on the scorer uses the SFT model's own
     * sentences, in the evaluation).
     */
    private void measureScorerOnFoils(Path d, int seed, Tokenizer tok) throws IOException {
        Map<Integer, Scene> scenes = scenes(d.resolve("world-eval"));
        List<Path> images = new ArrayList<>();
        for (int id : scenes.keySet()) images.add(image(d.resolve("world-eval"), id));
        Random rng = new Random(seed * 131L + 3);
        var items = ScorerQuality.foilItems(images, new ArrayList<>(scenes.values()), new Foils(new Describer(rng), rng));
        Path clip = Trainer.latestCheckpoint(d.resolve("clip"));
        ScorerQuality.Result r = new ScorerQuality(ClipModel.load(clip), tok, ClipImageProcessor.load(clip)).measure(items);
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
        Map<String, Double> probe = VisionProbe.accuracy(ClipModel.load(clip), ClipImageProcessor.load(clip), probeImages, probeScenes,
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
        // Constant lr after warm-up, in chunks of sftCheckEvery steps: after each chunk (from
        // sftMinSteps on) the model describes held-in scenes and training stops once at most
        // sftTargetError of its sentences are wrong. When a compact LLaVA starts to use the image
        // depends on the seed (at 6000 steps one seed had 15% wrong sentences, another 78%), and
        // ASPO needs chosen answers that are good but not perfect.
        int total = 0;
        Path run = d.resolve("sft");
        while (true) {
            total = Math.min(scale.sftSteps(), total + (scale.sftTargetError() > 0 ? scale.sftCheckEvery() : scale.sftSteps()));
            Map<String, String> o = common(d, seed, "sft", init, total, scale.sftBatch(), scale.sftLr());
            o.put("train_file", d.resolve("world/sft.jsonl").toString());
            o.put("warmup_steps", String.valueOf(Math.min(300, scale.sftSteps() / 20)));
            if (scale.freezeVision() == 1) o.put("freeze", FROZEN);
            o.put("min_lr_ratio", "1.0");
            o.put("save_every", String.valueOf(total));
            Path last = Files.isDirectory(run) ? Trainer.latestCheckpoint(run) : null;
            int lastStep = last == null ? 0 : Integer.parseInt(last.getFileName().toString().substring("checkpoint-".length()));
            if (lastStep > total) continue;   // a continued study: this chunk and its check were passed before
            boolean done = lastStep == total;
            if (!done) {
                Trainer trainer = new Trainer(Trainer.Mode.SFT, TrainConfig.of(o), PolicyModels.load(init), null, tok, null, quiet);
                trainer.onStep(steps());
                trainer.run(resumeFrom(run));
                keepOnlyLatest(run);
            }
            if (total >= scale.sftSteps() || scale.sftTargetError() <= 0 || total < scale.sftMinSteps()) {
                if (total >= scale.sftSteps()) break;
                continue;
            }
            double err = heldInErrorRate(d, tok, LlavaPolicy.load(Trainer.latestCheckpoint(run)));
            log.printf(Locale.ROOT, "[%s seed %d] sft step %d: %.1f%% of validation description sentences wrong%n", scale.name(), seed,
                    total, 100 * err);
            if (err <= scale.sftTargetError()) break;
        }
    }

    /** Share of wrong sentences in the SFT model's descriptions of the validation scenes (never the evaluation scenes). */
    private static double heldInErrorRate(Path d, Tokenizer tok, LlavaPolicy policy) throws IOException {
        Map<Integer, Scene> scenes = scenes(d.resolve("world-val"));
        List<Integer> ids = new ArrayList<>(scenes.keySet());
        List<Answerer.Question> qs = new ArrayList<>();
        for (int id : ids) qs.add(new Answerer.Question(RgbImage.read(image(d.resolve("world-val"), id)), Describer.DESCRIBE_INSTRUCTIONS.get(0)));
        List<String> answers = new Answerer(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), 64).answer(qs);
        long all = 0, wrong = 0;
        for (int i = 0; i < ids.size(); i++) {
            for (SentenceJudgement j : Judge.judge(scenes.get(ids.get(i)), answers.get(i)).sentences()) {
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

    /** Settings every run shares. */
    private Map<String, String> common(Path d, int seed, String run, Path model, int steps, int batch, double lr) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model", model.toString());
        o.put("tokenizer", d.resolve("tokenizer.json").toString());
        o.put("output_dir", d.resolve(run).toString());
        o.put("cache_dir", d.resolve("cache").toString());
        o.put("max_steps", String.valueOf(steps));
        o.put("batch_size", String.valueOf(batch));
        o.put("lr", String.valueOf(lr));
        o.put("seed", String.valueOf(seed));
        o.put("max_length", String.valueOf(MAX_LENGTH));
        o.put("save_every", String.valueOf(Math.max(1, steps / 2)));
        o.put("log_every", "1");
        o.put("progress", "none");
        // a run is resumed whenever it has a checkpoint (resumeFrom); one killed before its first
        // checkpoint has only metrics, which the study starts over
        o.put("overwrite_output_dir", "true");
        o.put("image_root", d.toString());   // pairs/*.jsonl name the world's images as ../world/images/...
        return o;
    }

    private static Path resumeFrom(Path runDir) throws IOException {
        return Files.isDirectory(runDir) && Trainer.latestCheckpoint(runDir) != null ? runDir : null;
    }

    // ---- SeVa pairs ---------------------------------------------------------------------------

    private void makePairs(Path d, int seed, Tokenizer tok) throws IOException {
        LlavaPolicy sft = LlavaPolicy.load(Trainer.latestCheckpoint(d.resolve("sft")));
        Answerer answerer = new Answerer(sft, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), 64);
        SequenceEncoder enc = new SequenceEncoder(tok, sft.eosId(), MAX_LENGTH);
        Files.createDirectories(d.resolve("pairs"));
        PairStats train = pairs(d, "world", scale.pairScenes(), seed, answerer, enc, sft, d.resolve("pairs/train.jsonl"));
        PairStats eval = pairs(d, "world-eval", scale.evalScenes(), seed + 17, answerer, enc, sft, d.resolve("pairs/eval.jsonl"));
        pairs(d, "world-val", scale.valScenes(), seed + 29, answerer, enc, sft, d.resolve("pairs/val.jsonl"));
        ObjectNode n = JSON.createObjectNode();
        n.put("count", train.count);
        n.put("scenes", train.scenes);
        n.put("chosen_sentences", train.sentences);
        n.put("chosen_sentence_error_rate", train.errorRate());
        n.put("rejected_sentence_error_rate", train.rejectedErrorRate());
        n.put("eval_count", eval.count);
        n.put("eval_chosen_sentence_error_rate", eval.errorRate());
        HfJson.writeText(d.resolve("pairs/stats.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n));
        log.printf(Locale.ROOT, "[%s seed %d] %d pairs from %d scenes; chosen sentence error rate %.3f (rejected %.3f)%n",
                scale.name(), seed, train.count, train.scenes, train.errorRate(), train.rejectedErrorRate());
        if (train.count == 0) throw new IllegalStateException(d + ": every SeVa pair was identical; no preference data");
    }

    private static final class PairStats {
        int count, scenes;
        long sentences, wrong, rejectedSentences, rejectedWrong;

        double errorRate() {
            return sentences == 0 ? 0 : (double) wrong / sentences;
        }

        double rejectedErrorRate() {
            return rejectedSentences == 0 ? 0 : (double) rejectedWrong / rejectedSentences;
        }
    }

    private PairStats pairs(Path d, String world, int n, long seed, Answerer answerer, SequenceEncoder enc, PolicyModel policy,
                            Path file) throws IOException {
        Map<Integer, Scene> scenes = scenes(d.resolve(world));
        Random rng = new Random(seed * 1_000_003L + 11);
        List<Integer> ids = new ArrayList<>(scenes.keySet()).subList(0, Math.min(n, scenes.size()));
        List<String> prompts = new ArrayList<>();
        List<Answerer.Question> clean = new ArrayList<>(), noised = new ArrayList<>();
        for (int id : ids) {
            String prompt = Describer.DESCRIBE_INSTRUCTIONS.get(rng.nextInt(Describer.DESCRIBE_INSTRUCTIONS.size()));
            RgbImage img = RgbImage.read(image(d.resolve(world), id));
            prompts.add(prompt);
            clean.add(new Answerer.Question(img, prompt));
            noised.add(new Answerer.Question(DdpmNoise.noise(img, DIFFUSION_STEP, rng), prompt));
        }
        List<String> chosen = answerer.answer(clean), rejected = answerer.answer(noised);
        if (!ids.isEmpty()) {
            log.printf(Locale.ROOT, "  example (%s scene %d): %s%n    chosen:   %s%n    rejected: %s%n", world, ids.get(0),
                    prompts.get(0), chosen.get(0), rejected.get(0));
        }
        PairStats st = new PairStats();
        st.scenes = ids.size();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            String c = chosen.get(i), r = rejected.get(i);
            if (c.isBlank() || r.isBlank() || c.equals(r)) continue;
            Scene scene = scenes.get(ids.get(i));
            String where = file + " scene " + ids.get(i);
            double[] lc = labels(scene, enc.encode(policy.promptText(prompts.get(i), 1), c, where));
            double[] lr = labels(scene, enc.encode(policy.promptText(prompts.get(i), 1), r, where));
            for (double v : lc) {
                st.sentences++;
                if (v < 0.5) st.wrong++;
            }
            for (double v : lr) {
                st.rejectedSentences++;
                if (v < 0.5) st.rejectedWrong++;
            }
            ObjectNode o = JSON.createObjectNode();
            o.putArray("images").add(file.getParent().relativize(image(d.resolve(world), ids.get(i))).toString().replace('\\', '/'));
            o.put("prompt", prompts.get(i));
            o.put("chosen", c);
            o.put("rejected", r);
            var a = o.putArray("chosen_sentence_labels");
            for (double v : lc) a.add((int) v);
            var b = o.putArray("rejected_sentence_labels");
            for (double v : lr) b.add((int) v);
            o.put("scene_id", ids.get(i));
            lines.add(o.toString());
            st.count++;
        }
        HfJson.writeText(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
        return st;
    }

    /** 1 for each sentence (as the trainer's splitter and aligner cut it) the judge finds correct, else 0. */
    static double[] labels(Scene scene, Sequence s) {
        double[] l = new double[s.sentences().size()];
        for (int i = 0; i < l.length; i++) {
            SentenceJudgement j = Judge.judgeSentence(scene, s.sentences().get(i));
            l[i] = j.verdict() == Verdict.CORRECT ? 1 : 0;
        }
        return l;
    }

    // ---- preference runs ----------------------------------------------------------------------

    /**
     * The settings that make method {@code m} (docs/METHOD.md: alpha 0.5 full, 1 similarity only, 0
     * perplexity only), and the study's controls: {@code aspo_rr} ASPO with reward-ratio
     * normalisation; {@code aspo_shuffled} ASPO's weights permuted within each chosen answer;
     * {@code oracle_mask} the judge's labels used as they are (wrong sentences weigh 0);
     * {@code oracle_flipNN} the oracle on labels flipped with probability NN% ({@link #flippedPairs}).
     */
    static Map<String, String> methodSettings(String m) {
        Map<String, String> o = new LinkedHashMap<>();
        switch (m) {
            case "dpo" -> {}
            case "aspo" -> o.put("alpha", "0.5");
            case "aspo_s" -> o.put("alpha", "1");
            case "aspo_p" -> o.put("alpha", "0");
            case "aspo_oracle", "oracle_flip10", "oracle_flip25", "oracle_flip50" -> o.put("weights", "oracle");
            case "aspo_inverse" -> {
                o.put("alpha", "0.5");
                o.put("rejected_weighting", "inverse");
            }
            case "aspo_rr" -> {
                o.put("alpha", "0.5");
                o.put("normalization", "reward-ratio");
            }
            case "aspo_shuffled" -> {
                o.put("alpha", "0.5");
                o.put("shuffle_weights", "true");
            }
            case "oracle_mask" -> {
                o.put("weights", "oracle");
                o.put("normalization", "none");
            }
            default -> throw new IllegalArgumentException("unknown method " + m);
        }
        return o;
    }

    /** ASPO's alpha for the methods whose weights are adaptive (their weight AUROC is measured), else NaN. */
    static double adaptiveAlpha(String m) {
        return switch (m) {
            case "aspo", "aspo_rr", "aspo_shuffled" -> 0.5;
            case "aspo_s" -> 1;
            case "aspo_p" -> 0;
            default -> Double.NaN;
        };
    }

    /**
     * {@code pairs} with each chosen sentence label flipped with probability {@code p} (seeded by
     * {@code seed} and p), written to {@code out}: the oracle's weights made worse in known steps
     * (their AUROC is 1 - p in expectation).
     */
    static void flippedPairs(Path pairs, Path out, double p, long seed) throws IOException {
        Random rng = new Random(seed * 7919L + Math.round(p * 1000));
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(pairs)) {
            if (line.isBlank()) continue;
            ObjectNode n = (ObjectNode) JSON.readTree(line);
            var labels = n.putArray("chosen_sentence_labels");
            for (JsonNode v : JSON.readTree(line).get("chosen_sentence_labels")) labels.add(rng.nextDouble() < p ? 1 - v.asInt() : v.asInt());
            lines.add(n.toString());
        }
        HfJson.writeText(out, lines.isEmpty() ? "" : String.join("\n", lines) + "\n");
    }

    /** A preference recipe: learning rate and the weight of the chosen answers' NLL term (beta is 0.1 throughout, as the paper). */
    record Recipe(double lr, double nllWeight) {
        String name() {
            return String.format(Locale.ROOT, "lr%.0e-nll%s", lr, nllWeight == 0 ? "0" : String.valueOf(nllWeight));
        }
    }

    /** The candidates of the recipe search: the scale's learning rate and 2.5 times it, each without and with RPO's NLL term. */
    List<Recipe> recipeCandidates() {
        List<Recipe> r = new ArrayList<>();
        for (double lr : new double[] {scale.prefLr(), 2.5 * scale.prefLr()}) for (double nll : new double[] {0, 1}) r.add(new Recipe(lr, nll));
        return r;
    }

    /**
     * The preference recipe, chosen on the validation scenes, never the evaluation ones: DPO is
     * trained from the SFT checkpoint with each candidate and describes the validation scenes;
     * the lowest CHAIR_i wins (ties: the earlier candidate). Every method then uses it
     * ({@code recipe.json}: each candidate's validation numbers and the choice).
     */
    private void chooseRecipe(Path d, int seed, Tokenizer tok) throws IOException {
        ObjectNode out = JSON.createObjectNode();
        var list = out.putArray("candidates");
        Recipe best = null;
        double bestChair = Double.POSITIVE_INFINITY;
        for (Recipe r : recipeCandidates()) {
            String run = "recipe/" + r.name();
            if (!Files.isRegularFile(d.resolve(run + "/validation.json"))) {
                Trainer trainer = preferenceTrainer(d, seed, tok, "dpo", r, run);
                trainer.onStep(steps());
                trainer.run(resumeFrom(d.resolve(run)));
                LlavaPolicy policy = LlavaPolicy.load(Trainer.latestCheckpoint(d.resolve(run)));
                ObjectNode v = ModelEvaluation.run(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE), d.resolve("world-val"), 0, null);
                HfJson.writeText(d.resolve(run + "/validation.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(v));
                for (Path ck : listCheckpoints(d.resolve(run))) Trainer.deleteTree(ck);   // only its numbers are kept
            }
            JsonNode v = readState(d.resolve(run + "/validation.json"));
            ObjectNode c = list.addObject();
            c.put("lr", r.lr());
            c.put("nll_weight", r.nllWeight());
            for (String k : List.of("chair_i", "chair_s", "recall")) c.put("val_" + k, v.get(k).asDouble());
            if (v.get("chair_i").asDouble() < bestChair) {
                bestChair = v.get("chair_i").asDouble();
                best = r;
            }
        }
        ObjectNode chosen = out.putObject("chosen");
        chosen.put("lr", best.lr());
        chosen.put("nll_weight", best.nllWeight());
        HfJson.writeText(d.resolve("recipe.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        log.printf(Locale.ROOT, "[%s seed %d] recipe chosen on validation scenes: lr %.1e, nll_weight %s (validation CHAIR_i %.1f%%)%n",
                scale.name(), seed, best.lr(), best.nllWeight(), 100 * bestChair);
    }

    private static List<Path> listCheckpoints(Path run) throws IOException {
        List<Path> out = new ArrayList<>();
        try (var st = Files.newDirectoryStream(run, "checkpoint-*")) {
            for (Path p : st) out.add(p);
        }
        return out;
    }

    /** The recipe {@code recipe.json} of a seed chose. */
    static Recipe recipe(Path d) throws IOException {
        JsonNode c = readState(d.resolve("recipe.json")).get("chosen");
        return new Recipe(c.get("lr").asDouble(), c.get("nll_weight").asDouble());
    }

    private void trainPreference(Path d, int seed, Tokenizer tok, String m) throws IOException {
        Trainer trainer = preferenceTrainer(d, seed, tok, m, recipe(d), "runs/" + m);
        trainer.onStep(steps());
        trainer.run(resumeFrom(d.resolve("runs/" + m)));
    }

    private static Trainer.Mode mode(String m) {
        return m.equals("dpo") ? Trainer.Mode.DPO : Trainer.Mode.ASPO;
    }

    /** The trainer of method {@code m} with recipe {@code r}, from the SFT checkpoint, writing to {@code run}. */
    private Trainer preferenceTrainer(Path d, int seed, Tokenizer tok, String m, Recipe r, String run) throws IOException {
        Path sft = Trainer.latestCheckpoint(d.resolve("sft"));
        Map<String, String> o = common(d, seed, run, sft, scale.prefSteps(), scale.prefBatch(), r.lr());
        o.put("nll_weight", String.valueOf(r.nllWeight()));
        Path train = d.resolve("pairs/train.jsonl"), eval = d.resolve("pairs/eval.jsonl");
        double flip = FLIP_RATES.getOrDefault(m, 0.0);
        if (flip > 0) {
            Path flipped = d.resolve("pairs/train-" + m + ".jsonl");
            flippedPairs(train, flipped, flip, seed);
            train = flipped;
        }
        o.put("train_file", train.toString());
        o.put("eval_file", eval.toString());
        o.put("warmup_steps", String.valueOf(scale.prefSteps() / 10));
        o.put("beta", "0.1");
        if (scale.freezeVision() == 1) o.put("freeze", FROZEN);
        o.putAll(methodSettings(m));
        TrainConfig cfg = TrainConfig.of(o);
        SimilaritySource sim = null;
        if (mode(m) == Trainer.Mode.ASPO && !cfg.str("weights").equals("oracle") && cfg.number("alpha") > 0) {
            sim = ClipSimilarity.load(Trainer.latestCheckpoint(d.resolve("clip")), d.resolve("cache"));
        }
        return new Trainer(mode(m), cfg, PolicyModels.load(sft), PolicyModels.load(sft), tok, sim, quiet);
    }

    // ---- evaluation ---------------------------------------------------------------------------

    /** The SFT model's step count (its checkpoint's). */
    static int sftSteps(Path d) throws IOException {
        Path last = Trainer.latestCheckpoint(d.resolve("sft"));
        if (last == null) throw new IllegalStateException(d.resolve("sft") + ": no checkpoint");
        return Integer.parseInt(last.getFileName().toString().substring("checkpoint-".length()));
    }

    /**
     * The CLIP scorer on the SFT model's own held-out chosen sentences ({@code pairs/eval.jsonl}),
     * each judged against its scene: AUROC of raw {@code S_i} and of the text-only baseline
     * ({@code eval/scorer.json}).
     */
    private void evaluateScorer(Path d) throws IOException {
        Map<Integer, Scene> scenes = scenes(d.resolve("world-eval"));
        List<ScorerQuality.Item> items = new ArrayList<>();
        for (String line : Files.readAllLines(d.resolve("pairs/eval.jsonl"))) {
            if (line.isBlank()) continue;
            JsonNode n = JSON.readTree(line);
            int id = n.get("scene_id").asInt();
            items.addAll(ScorerQuality.judged(image(d.resolve("world-eval"), id), scenes.get(id), n.get("chosen").asText()));
        }
        Path clip = Trainer.latestCheckpoint(d.resolve("clip"));
        ScorerQuality.Result r = new ScorerQuality(ClipModel.load(clip), Tokenizer.fromFile(clip.resolve("tokenizer.json")),
                ClipImageProcessor.load(clip)).measure(items);
        ObjectNode o = JSON.createObjectNode();
        putAuroc(o, "sentence_auroc", r.sentenceAuroc());
        putAuroc(o, "text_only_auroc", r.textOnlyAuroc());
        o.put("sentences", r.n());
        o.put("wrong_sentences", r.wrong());
        HfJson.writeText(d.resolve("eval/scorer.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
    }

    private static void putAuroc(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) o.putNull(key);
        else o.put(key, v);
    }

    private void evaluate(Path d, Tokenizer tok, String m) throws IOException {
        if (m.equals("sft")) {
            Files.createDirectories(d.resolve("eval"));
            evaluateScorer(d);
        }
        Path ckpt = Trainer.latestCheckpoint(m.equals("sft") ? d.resolve("sft") : d.resolve("runs/" + m));
        LlavaPolicy policy = LlavaPolicy.load(ckpt);
        Files.createDirectories(d.resolve("eval"));
        ObjectNode result = ModelEvaluation.run(policy, tok, ClipImageProcessor.clip(StudyModels.IMAGE_SIZE),
                d.resolve("world-eval"), scale.popeScenes(), d.resolve("eval/" + m + "-answers.jsonl"));
        result.put("reward_accuracy", m.equals("sft") ? 0.0 : lastEval(d.resolve("runs/" + m), "eval_rewards/accuracies"));
        double alpha = adaptiveAlpha(m);
        if (!Double.isNaN(alpha)) {
            SimilaritySource sim = alpha > 0 ? ClipSimilarity.load(Trainer.latestCheckpoint(d.resolve("clip")), d.resolve("cache")) : null;
            List<Record> pairs = Dataset.load(d.resolve("pairs/eval.jsonl"), Dataset.Kind.PREFERENCE, false, d).records();
            putAuroc(result, "weight_auroc", WeightQuality.auroc(policy, tok, sim, alpha, pairs, MAX_LENGTH, m.equals("aspo_shuffled")));
        } else if (FLIP_RATES.containsKey(m)) {
            // the flipped labels' AUROC for the true ones, on the held-out pairs flipped the same way
            Path flipped = d.resolve("eval/pairs-" + m + ".jsonl");
            flippedPairs(d.resolve("pairs/eval.jsonl"), flipped, FLIP_RATES.get(m), seedOf(d) + 17);
            putAuroc(result, "weight_auroc", labelAuroc(d.resolve("pairs/eval.jsonl"), flipped));
        }
        HfJson.writeText(d.resolve("eval/" + m + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
    }

    private static int seedOf(Path seedDir) {
        return Integer.parseInt(seedDir.getFileName().toString().substring("seed-".length()));
    }

    /** AUROC of the labels of {@code scored} for the true labels of {@code truth} (the same pairs, line by line). */
    static double labelAuroc(Path truth, Path scored) throws IOException {
        List<String> t = Files.readAllLines(truth), f = Files.readAllLines(scored);
        List<Double> score = new ArrayList<>();
        List<Boolean> pos = new ArrayList<>();
        for (int i = 0, j = 0; i < t.size(); i++) {
            if (t.get(i).isBlank()) continue;
            JsonNode a = JSON.readTree(t.get(i)).get("chosen_sentence_labels"), b = JSON.readTree(f.get(j++)).get("chosen_sentence_labels");
            for (int k = 0; k < a.size(); k++) {
                score.add(b.get(k).asDouble());
                pos.add(a.get(k).asInt() == 1);
            }
        }
        double[] sc = new double[score.size()];
        boolean[] p = new boolean[pos.size()];
        for (int i = 0; i < sc.length; i++) {
            sc[i] = score.get(i);
            p[i] = pos.get(i);
        }
        return Auroc.of(sc, p);
    }

    /** The value of {@code key} on the last line of a run's metrics.jsonl that has it. */
    static double lastEval(Path run, String key) throws IOException {
        double v = Double.NaN;
        for (String line : Files.readAllLines(run.resolve(Trainer.METRICS))) {
            JsonNode n = JSON.readTree(line);
            if (n.has(key)) v = n.get(key).asDouble();
        }
        if (Double.isNaN(v)) throw new IllegalStateException(run.resolve(Trainer.METRICS) + ": no " + key);
        return v;
    }
}
