package dev.aspo.method.train;

import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * One SFT, DPO or ASPO run: the data prepared for the policy ({@link PolicyData}), a micro-batch's
 * forward and backward ({@link PolicyStep}), and the {@link TrainingLoop} every trainer shares
 * (AdamW, linear warm-up + cosine, global-norm clipping, gradient accumulation, evaluation every
 * N steps, atomic {@link Checkpoints}, exact resume and {@code metrics.jsonl}).
 *
 * <p>Exact resume: the data order is a function of (seed, epoch, position), the schedule of the
 * step, the weights and AdamW moments are saved as F32, and the CPU kernels are deterministic for
 * a fixed thread count ({@code -Daspo.threads}); a run stopped after a checkpoint and resumed
 * gives the same losses, bit for bit, as one that was not stopped (same thread count).
 */
public final class Trainer {
    /** What is trained. */
    public enum Mode {
        SFT, DPO, ASPO;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The run's metrics log and settings in its {@code output_dir} ({@link RunDirectory}). */
    public static final String METRICS = RunDirectory.METRICS, CONFIG = RunDirectory.CONFIG;

    private final Mode mode;
    private final TrainConfig cfg;
    private final PolicyModel policy;
    private final PolicyModel referenceModel;
    private final Tokenizer tokenizer;
    private final SimilaritySource similarity;
    private final PrintStream console;
    private final LossConfig lossConfig;
    /** The adapters a {@code lora} block trains (null: the model itself trains). */
    private final LoraTraining lora;
    private StepListener listener = StepListener.NONE;

    /** Steps whose device work was a task-graph replay ({@code task_graph: true}; for tests). */
    long replayedSteps;

    /** Tests: stop right after this step (its metrics and any checkpoint written), as a kill would ({@link TrainingLoop.Killed}). */
    long stopAfterStep = -1;

    /**
     * @param referenceModel the reference (null: a copy of {@code policy} as it is now, which is right for a new
     *                       run; a resumed run must pass the run's initial model, as the CLI does by loading the
     *                       {@code reference}/{@code model} directory; with a {@code lora} block, null is the
     *                       policy's base model, its adapters off, for new and resumed runs alike)
     * @param similarity     the S_i source for ASPO with adaptive weights and alpha &gt; 0, else may be null
     */
    public Trainer(Mode mode, TrainConfig cfg, PolicyModel policy, PolicyModel referenceModel, Tokenizer tokenizer,
                   SimilaritySource similarity, PrintStream console) {
        this.mode = mode;
        this.cfg = cfg;
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.similarity = similarity;
        this.console = console;
        this.lossConfig = mode == Mode.SFT ? null : cfg.lossConfig(mode == Mode.ASPO ? LossConfig.LossType.ASPO : LossConfig.LossType.DPO);
        LoraSettings loraSettings = LoraSettings.of(cfg);
        this.lora = loraSettings == null ? null : new LoraTraining(loraSettings, policy, cfg.integer("seed"));
        this.referenceModel = mode == Mode.SFT ? null : referenceModel != null ? referenceModel
                : lora != null ? lora.reference() : policy.copy();
        if (this.referenceModel != null) this.referenceModel.module().toDtype(cfg.dtype(), name -> true);   // frozen: all of it
        if (lora != null && cfg.isSet("freeze")) {
            throw new IllegalArgumentException("freeze cannot be set with a lora block: LoRA trains the adapters only (lora.exclude_modules"
                    + " leaves layers without an adapter)");
        }
        if (lora != null && cfg.bool("task_graph") && loraSettings.dropout()) {
            throw new IllegalArgumentException(TASK_GRAPH_DROPOUT);
        }
        if (cfg.bool("gradient_checkpointing")) {
            if (cfg.bool("task_graph")) {
                throw new IllegalArgumentException("gradient_checkpointing: true is not recorded in a task graph yet: set task_graph: false"
                        + " or gradient_checkpointing: false");
            }
            policy.setGradientCheckpointing(true);
        }
        if (mode == Mode.ASPO && !PolicyStep.oracle(lossConfig) && lossConfig.alpha() > 0 && similarity == null) {
            throw new IllegalArgumentException("aspo with alpha > 0 needs image-text similarities: set clip_model (or alpha 0)");
        }
        if (cfg.bool("task_graph") && (cfg.number("nll_weight") > 0 || cfg.bool("shuffle_weights"))) {
            throw new IllegalArgumentException("nll_weight > 0 and shuffle_weights are not recorded in a task graph yet: set task_graph: false");
        }
        if (cfg.bool("shuffle_weights") && (mode != Mode.ASPO)) {
            throw new IllegalArgumentException("shuffle_weights permutes ASPO's sentence weights: it needs aspo, not " + mode.key());
        }
        if (cfg.bool("task_graph")) {
            if (mode != Mode.SFT && !cfg.str("reference_mode").equals("cached")) {
                throw new IllegalArgumentException("task_graph: true needs reference_mode: cached for " + mode.key()
                        + " (a frozen reference model's forward would be recorded with the step)");
            }
            if (!(policy.module().namedParameters().values().iterator().next().backend() instanceof OpenClBackend)) {
                throw new IllegalArgumentException("task_graph: true records OpenCL commands: set device: opencl");
            }
        }
    }

    private static final String TASK_GRAPH_DROPOUT = "task_graph: true cannot train with lora.lora_dropout > 0 (a replayed step would"
            + " repeat the recorded step's dropout masks): set lora.lora_dropout: 0 or task_graph: false";

    /** Tells {@code l} after every step (besides the console progress). */
    public void onStep(StepListener l) {
        this.listener = l == null ? StepListener.NONE : l;
    }

    /** The outcome of {@link #run}. */
    public record Result(long steps, Path lastCheckpoint, int skippedRecords) {}

    /** Trains from scratch ({@code resume} null) or from the latest checkpoint under {@code resume}. */
    public Result run(Path resume) throws IOException {
        if (lora != null) {
            lora.attach();   // before anything is written: a target that fits no layer stops here
            if (cfg.bool("task_graph") && lora.dropout()) {   // a continued adapter's dropout is known once it is read
                throw new IllegalArgumentException(TASK_GRAPH_DROPOUT + " (lora_dropout of lora.adapter " + cfg.str("lora.adapter") + ")");
            }
        }
        Path out = RunDirectory.open(cfg, resume, console);   // refuses to mix two runs; removes leftovers of a crash
        Path cacheDir = cfg.isSet("cache_dir") ? cfg.path("cache_dir") : out.resolve("cache");
        PolicyData train = prepare(cfg.requirePath("train_file"), cacheDir);
        PolicyData eval = cfg.isSet("eval_file") ? prepare(cfg.path("eval_file"), cacheDir) : null;
        if (train.skipped > 0) console.println("skipped " + train.skipped + " bad records of " + cfg.str("train_file"));

        Map<String, Tensor> trained = lora != null ? lora.trainable() : trainable(policy, cfg.str("freeze"));
        policy.module().toDtype(cfg.dtype(), name -> !trained.containsKey(name));   // the matrices not trained, in dtype
        AdamW opt = new AdamW(trained, cfg.adamW(), AdamW.biasesAndNorms());
        Checkpoints checkpoints = new Checkpoints(out, mode.key(), cfg, lora != null ? lora.weights() : new Checkpoints.Weights() {
            @Override
            public void save(Path dir) throws IOException {
                policy.save(dir, cfg.maxShardBytes());
            }

            @Override
            public void load(Path checkpoint) throws IOException {
                policy.loadWeightsFrom(PolicyModels.load(checkpoint).module());
            }
        }, tokenizer == null ? null : tokenizer.toJson());
        TrainingLoop loop = new TrainingLoop(cfg, out, console, listener);
        loop.stopAfterStep = stopAfterStep;
        try (PolicyStep step = new PolicyStep(cfg, lossConfig, policy, train, eval, opt, lora, console)) {
            try {
                TrainingLoop.Outcome o = loop.run(resume, step, train.records, eval == null ? List.of() : eval.records, opt, checkpoints);
                return new Result(o.steps(), o.lastCheckpoint(), train.skipped);
            } finally {
                replayedSteps = step.replayedSteps;
            }
        }
    }

    /**
     * The parameters to train: all but those whose name starts with one of the comma-separated
     * prefixes of {@code freeze} (e.g. {@code vision_tower.}, as LLaVA-1.5 keeps its CLIP tower
     * frozen). Frozen parameters stop requiring gradients, so backward does not compute them.
     */
    static Map<String, Tensor> trainable(PolicyModel policy, String freeze) {
        List<String> prefixes = new ArrayList<>();
        for (String f : freeze.split(",")) if (!f.isBlank()) prefixes.add(f.strip());
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<String> matched = new ArrayList<>();
        for (var e : policy.module().namedParameters().entrySet()) {
            String hit = null;
            for (String pre : prefixes) if (e.getKey().startsWith(pre)) hit = pre;
            if (hit == null) {
                out.put(e.getKey(), e.getValue());
            } else {
                e.getValue().requiresGrad(false);
                if (!matched.contains(hit)) matched.add(hit);
            }
        }
        for (String pre : prefixes) {
            if (!matched.contains(pre)) throw new IllegalArgumentException("freeze: no parameter name starts with \"" + pre + "\"");
        }
        if (out.isEmpty()) throw new IllegalArgumentException("freeze: every parameter is frozen; nothing to train");
        return out;
    }

    /**
     * A data file made ready: each record's sequences (a bad record is an error, or skipped with
     * {@code skip_bad_records}), ASPO's sentence labels or similarities and weight orders, and the
     * reference log-probs (a frozen copy, or the cache under {@code cacheDir}).
     */
    private PolicyData prepare(Path file, Path cacheDir) throws IOException {
        boolean skip = cfg.bool("skip_bad_records");
        Dataset ds = Dataset.load(file, mode == Mode.SFT ? Dataset.Kind.SFT : Dataset.Kind.PREFERENCE, skip, cfg.path("image_root"));
        PolicyData d = new PolicyData(mode != Mode.SFT);
        d.skipped = ds.skipped();
        SequenceEncoder enc = new SequenceEncoder(tokenizer, policy.eosId(), cfg.integer("max_length"));
        for (Record r : ds.records()) {
            Sequence a, b = null;
            try {
                String prompt;
                try {
                    prompt = policy.promptText(r.prompt(), r.images().size());
                } catch (IllegalArgumentException e) {
                    throw new DatasetException(r.where() + ": " + e.getMessage());
                }
                if (mode == Mode.SFT) {
                    a = enc.encode(prompt, r.response(), r.where() + " (response)");
                } else {
                    a = enc.encode(prompt, r.chosen(), r.where() + " (chosen)");
                    b = enc.encode(prompt, r.rejected(), r.where() + " (rejected)");
                }
            } catch (DatasetException e) {
                if (!skip) throw e;
                d.skipped++;
                continue;
            }
            d.records.add(r);
            d.sequences.add(a);
            d.sequences.add(b);
        }
        if (d.records.isEmpty()) throw new DatasetException(file + ": no usable records");
        if (cfg.bool("shuffle_weights")) {
            d.weightOrders = new ArrayList<>(d.records.size());
            for (int i = 0; i < d.records.size(); i++) d.weightOrders.add(weightOrder(i, d.sequences.get(2 * i).sentences().size()));
        }
        if (mode == Mode.ASPO && PolicyStep.oracle(lossConfig)) {
            for (int i = 0; i < d.records.size(); i++) {
                Record r = d.records.get(i);
                checkLabels(r, r.chosenLabels(), d.sequences.get(2 * i), "chosen");
                if (lossConfig.weightsRejected()) checkLabels(r, r.rejectedLabels(), d.sequences.get(2 * i + 1), "rejected");
            }
        } else if (mode == Mode.ASPO && similarity != null) {
            for (int i = 0; i < d.records.size(); i++) {
                Record r = d.records.get(i);
                d.simChosen.add(checked(similarity.similarities(r, d.sequences.get(2 * i).sentences()), r, "chosen"));
                d.simRejected.add(lossConfig.weightsRejected()
                        ? checked(similarity.similarities(r, d.sequences.get(2 * i + 1).sentences()), r, "rejected") : null);
            }
        }
        if (mode != Mode.SFT) {
            if (cfg.str("reference_mode").equals("frozen")) {
                d.reference = new FrozenReference(referenceModel);
            } else {
                List<List<Path>> images = new ArrayList<>();
                for (Record r : d.records) {
                    images.add(r.images());
                    images.add(r.images());
                }
                String key = CachedReference.key(referenceModel, d.sequences, images);
                d.reference = CachedReference.loadOrCompute(cacheDir, key, referenceModel, d.sequences, images,
                        2 * cfg.integer("batch_size"));
            }
        }
        return d;
    }

    /** weights: oracle needs one label per sentence, as the splitter cuts the response. */
    private static void checkLabels(Record r, double[] labels, Sequence s, String side) {
        if (labels == null) {
            throw new DatasetException(r.where() + ": weights: oracle needs \"" + side + "_sentence_labels\" (one label per sentence)");
        }
        if (labels.length != s.sentences().size()) {
            throw new DatasetException(r.where() + ": \"" + side + "_sentence_labels\" has " + labels.length + " labels for "
                    + s.sentences().size() + " sentences " + s.sentences());
        }
    }

    private static double[] checked(double[] s, Record r, String side) {
        for (double v : s) {
            if (!Double.isFinite(v)) throw new DatasetException(r.where() + ": non-finite image-text similarity for the " + side + " response");
        }
        return s;
    }

    /** Record {@code i}'s permutation of its {@code k} chosen sentences, fixed for the run (seeded by the run's seed and {@code i}). */
    private int[] weightOrder(int i, int k) {
        Integer[] order = new Integer[k];
        for (int j = 0; j < k; j++) order[j] = j;
        Collections.shuffle(Arrays.asList(order), new Random(cfg.integer("seed") * 1_000_003L + i));
        int[] o = new int[k];
        for (int j = 0; j < k; j++) o[j] = order[j];
        return o;
    }

    /**
     * Whether a run of {@code cfg} takes the policy's base model as its reference when none is
     * given: with a {@code lora} block and no {@code reference} key (the CLI then loads no second model).
     */
    public static boolean referenceIsBaseModel(TrainConfig cfg) {
        return LoraSettings.of(cfg) != null && !cfg.isSet("reference");
    }

    /** The checkpoint with the highest step under {@code dir}, or null ({@link Checkpoints#latest}; for callers outside train/). */
    public static Path latestCheckpoint(Path dir) throws IOException {
        return Checkpoints.latest(dir);
    }

    /** Deletes a file or a folder with everything in it ({@link RunDirectory#deleteTree}; for callers outside train/). */
    public static void deleteTree(Path p) throws IOException {
        RunDirectory.deleteTree(p);
    }
}
