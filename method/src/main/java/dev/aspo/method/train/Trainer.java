package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.loss.DevicePreferenceLoss;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossMetrics;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.SftLoss;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensors;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import dev.aspo.tensor.optim.LrSchedule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One SFT, DPO or ASPO run: AdamW, linear warm-up + cosine, global-norm clipping, gradient
 * accumulation, evaluation every N steps, atomic checkpoints, exact resume and
 * {@code metrics.jsonl}.
 *
 * <pre>
 *   step s:  grad_accum micro-batches of batch_size records, taken in order from the epoch's
 *            permutation (seeded shuffle: new Random(seed, epoch)) --&gt; [chosen rows | rejected rows]
 *            --policy--&gt; logits --TokenLogProbs--&gt; per-token log-probs [2B, T]
 *            reference log-probs (frozen copy, or the per-token cache) --&gt; PreferenceLoss
 *            loss * (records in micro-batch / records in step) --backward--&gt; grads accumulate
 *            clip --&gt; lr = schedule(s) --&gt; AdamW --&gt; metrics line, eval, checkpoint
 * </pre>
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

    public static final String METRICS = "metrics.jsonl", STATE = "trainer_state.json", OPTIMIZER = "optimizer.safetensors",
            CONFIG = "train_config.json";
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Mode mode;
    private final TrainConfig cfg;
    private final PolicyModel policy;
    private final PolicyModel referenceModel;
    private final Tokenizer tokenizer;
    private final SimilaritySource similarity;
    private final PrintStream console;
    private StepListener listener = StepListener.NONE;

    /** Tells {@code l} after every step (besides the console progress). */
    public void onStep(StepListener l) {
        this.listener = l == null ? StepListener.NONE : l;
    }
    private final LossConfig lossConfig;

    /**
     * @param referenceModel the reference (null: a copy of {@code policy} as it is now, which is right for a new
     *                       run; a resumed run must pass the run's initial model, as the CLI does by loading the
     *                       {@code reference}/{@code model} directory)
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
        this.referenceModel = mode == Mode.SFT ? null : referenceModel != null ? referenceModel : policy.copy();
        if (mode == Mode.ASPO && !oracle() && lossConfig.alpha() > 0 && similarity == null) {
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

    private boolean oracle() {
        return lossConfig != null && lossConfig.weightSource() == LossConfig.WeightSource.ORACLE;
    }

    /** The prepared data of one file: records, their sequences (2 per record), similarities. */
    private static final class Data {
        final List<Record> records = new ArrayList<>();
        final List<Sequence> sequences = new ArrayList<>();   // 2 * record + side; side 1 null for SFT
        final List<double[]> simChosen = new ArrayList<>(), simRejected = new ArrayList<>();
        int skipped;
        Reference reference;
        List<int[]> weightOrders;   // shuffle_weights: per record its permutation of the chosen sentences
    }

    /** Steps whose device work was a task-graph replay ({@code task_graph: true}; for tests). */
    long replayedSteps;

    /** Tests: stop right after this step (its metrics and any checkpoint written), as a kill would. */
    long stopAfterStep = -1;

    /** Thrown at {@link #stopAfterStep}. */
    static final class Killed extends RuntimeException {
        Killed(long step) {
            super("stopped after step " + step);
        }
    }

    /** The outcome of {@link #run}. */
    public record Result(long steps, Path lastCheckpoint, int skippedRecords) {}

    /** Trains from scratch ({@code resume} null) or from the latest checkpoint under {@code resume}. */
    public Result run(Path resume) throws IOException {
        Path out = RunDirectory.open(cfg, resume, console);   // refuses to mix two runs; removes leftovers of a crash
        Path cacheDir = cfg.isSet("cache_dir") ? cfg.path("cache_dir") : out.resolve("cache");
        Progress.Style style = Progress.style(cfg.str("progress"));

        Data train = prepare(cfg.requirePath("train_file"), cacheDir);
        Data eval = cfg.isSet("eval_file") ? prepare(cfg.path("eval_file"), cacheDir) : null;
        if (train.skipped > 0) console.println("skipped " + train.skipped + " bad records of " + cfg.str("train_file"));

        int n = train.records.size(), bs = cfg.integer("batch_size"), accum = cfg.integer("grad_accum");
        long microPerEpoch = (n + bs - 1) / bs;
        long total = cfg.integer("max_steps") > 0 ? cfg.integer("max_steps")
                : cfg.integer("epochs") * ((microPerEpoch + accum - 1) / accum);
        LrSchedule schedule = LrSchedule.cosineWithWarmup(cfg.number("lr"), Math.min(cfg.integer("warmup_steps"), total), total,
                cfg.number("min_lr_ratio"));
        AdamW opt = new AdamW(trainable(policy, cfg.str("freeze")),
                new AdamW.Options(cfg.number("lr"), cfg.number("adam_beta1"), cfg.number("adam_beta2"), cfg.number("adam_eps"),
                        cfg.number("weight_decay")), AdamW.biasesAndNorms());

        long step = 0;
        Cursor cursor = new Cursor(n, cfg.integer("seed"));
        Path metricsFile = out.resolve(METRICS);
        Path last = null;
        if (resume != null) {
            last = latestCheckpoint(resume);
            if (last == null) throw new IllegalArgumentException(resume + ": no complete checkpoint-<step> directory to resume from");
            TrainerState st = TrainerState.read(last);
            step = st.step();
            cursor.epoch = st.epoch();
            cursor.position = st.position();
            if (st.records() != n) {
                throw new IllegalArgumentException(last + ": the checkpoint was made on " + st.records()
                        + " records, the training file has " + n);
            }
            policy.loadWeightsFrom(PolicyModels.load(last).module());
            loadOptimizer(last, opt);
            truncateMetrics(metricsFile, step);
            console.println("resumed from " + last + " at step " + step);
        } else {
            Files.deleteIfExists(metricsFile);
        }
        cfg.with("overwrite_output_dir", "false").save(out.resolve(CONFIG));   // resuming never deletes

        Progress progress = new Progress(console, style, cfg.integer("log_every"), step, total);
        double maxNorm = cfg.number("max_grad_norm");
        try (StepGraph<Micro, DeviceResult> graph = cfg.bool("task_graph") ? stepGraph(train, opt) : null) {
            while (step < total) {
                long t0 = System.nanoTime();
                List<int[]> micro = new ArrayList<>();
                int stepRecords = 0;
                for (int a = 0; a < accum; a++) {
                    int[] idx = cursor.next(bs);
                    micro.add(idx);
                    stepRecords += idx.length;
                }
                Metrics m = new Metrics();
                long tokens = 0;
                if (graph != null) {
                    List<Micro> batches = new ArrayList<>();
                    for (int[] idx : micro) batches.add(new Micro(idx, batch(train, idx)));
                    List<DeviceResult> results = graph.run(batches);
                    if (graph.replayed()) replayedSteps++;
                    for (int i = 0; i < micro.size(); i++) {
                        tokens += batches.get(i).batch().tokens;
                        m.add(finish(train, batches.get(i), results.get(i), step + 1), micro.get(i).length);
                    }
                } else {
                    opt.zeroGrad();
                    for (int[] idx : micro) {
                        Batch b = batch(train, idx);
                        tokens += b.tokens;
                        try (var buffers = BufferPool.step()) {   // the micro-batch's graph serves the next one
                            m.add(forward(train, idx, b, step + 1, (float) idx.length / stepRecords, true), idx.length);
                        }
                    }
                }
                List<Tensor> params = opt.params();
                double norm = maxNorm > 0 ? GradClip.clipGlobalNorm(params, maxNorm) : GradClip.globalNorm(params);
                if (!Double.isFinite(norm)) {
                    List<String> where = new ArrayList<>();
                    for (int[] idx : micro) for (int i : idx) where.add(train.records.get(i).where());
                    throw new TrainingStopped(step + 1, "step " + (step + 1) + ": the gradient norm is " + norm
                            + "; records of this step: " + String.join(", ", where));
                }
                double lr = schedule.lr(step);
                opt.setLr(lr);
                opt.step();
                step++;
                double secs = (System.nanoTime() - t0) / 1e9;
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("step", step);
                line.put("epoch", cursor.epoch + (double) cursor.position / n);
                line.putAll(m.result());
                line.put("grad_norm", norm);
                line.put("lr", lr);
                line.put("tokens_per_s", tokens / secs);
                if (step % cfg.integer("log_every") == 0 || step == total) appendMetrics(metricsFile, line);
                progress.step(step, (Double) line.get("loss"), tokens / secs);
                listener.step(step, total);

                boolean end = step == total;
                if (eval != null && ((cfg.integer("eval_every") > 0 && step % cfg.integer("eval_every") == 0) || end)) {
                    Map<String, Object> ev = new LinkedHashMap<>();
                    ev.put("step", step);
                    evaluate(eval, step).forEach((k, v) -> ev.put("eval_" + k, v));
                    appendMetrics(metricsFile, ev);
                    progress.message(String.format(Locale.ROOT, "step %d: eval_loss %.4f", step, (Double) ev.get("eval_loss")));
                }
                if ((cfg.integer("save_every") > 0 && step % cfg.integer("save_every") == 0) || end) {
                    last = saveCheckpoint(out, step, cursor, n, opt);
                }
                if (step == stopAfterStep) throw new Killed(step);
            }
        }
        BufferPool.clear();                     // the last step's buffers: no further step takes them
        return new Result(step, last, train.skipped);
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

    // ---- data ---------------------------------------------------------------------------------

    private Data prepare(Path file, Path cacheDir) throws IOException {
        boolean skip = cfg.bool("skip_bad_records");
        Dataset ds = Dataset.load(file, mode == Mode.SFT ? Dataset.Kind.SFT : Dataset.Kind.PREFERENCE, skip, cfg.path("image_root"));
        Data d = new Data();
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
        if (mode == Mode.ASPO && oracle()) {
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
                String key = cacheKey(referenceModel, d.sequences, images);
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

    /** SHA-256 (first 16 hex digits) of the reference weights, the tokenised sequences and their images' bytes. */
    static String cacheKey(PolicyModel ref, List<Sequence> sequences, List<List<Path>> images) throws IOException {
        MessageDigest md = Hashes.sha256();
        Hashes.update(md, ref.module());
        ByteBuffer ib = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        Map<Path, byte[]> imageHashes = new java.util.HashMap<>();
        for (int k = 0; k < sequences.size(); k++) {
            Sequence s = sequences.get(k);
            for (Path p : images.get(k)) {
                byte[] h = imageHashes.get(p);
                if (h == null) {
                    h = Hashes.sha256().digest(Files.readAllBytes(p));
                    imageHashes.put(p, h);
                }
                md.update(h);
            }
            if (s == null) {
                md.update((byte) 0);
                continue;
            }
            md.update(ib.clear().putInt(s.ids().length).putInt(s.promptLength()).array());
            ByteBuffer bb = ByteBuffer.allocate(s.ids().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bb.asIntBuffer().put(s.ids());
            md.update(bb.array());
        }
        return Hashes.hex(md);
    }

    /** The rows of records {@code idx}: all chosen (or SFT responses) first, then all rejected. */
    private Batch batch(Data d, int[] idx) {
        List<Sequence> rows = new ArrayList<>();
        List<List<Path>> images = new ArrayList<>();
        for (int i : idx) {
            rows.add(d.sequences.get(2 * i));
            images.add(d.records.get(i).images());
        }
        if (mode != Mode.SFT) {
            for (int i : idx) {
                rows.add(d.sequences.get(2 * i + 1));
                images.add(d.records.get(i).images());
            }
        }
        return new Batch(rows, policy.padId(), images, cfg.bool("task_graph") ? cfg.integer("max_length") : 0);
    }

    private int[] keys(int[] idx) {
        int b = idx.length;
        int[] keys = new int[mode == Mode.SFT ? b : 2 * b];
        for (int j = 0; j < b; j++) {
            keys[j] = 2 * idx[j];
            if (mode != Mode.SFT) keys[b + j] = 2 * idx[j] + 1;
        }
        return keys;
    }

    // ---- one micro-batch ----------------------------------------------------------------------

    /**
     * Loss and metrics of records {@code idx}; with {@code backward}, the loss times {@code scale}
     * is back-propagated (gradients accumulate).
     */
    private Map<String, Double> forward(Data d, int[] idx, Batch b, long step, float scale, boolean backward) {
        if (mode == Mode.SFT) {
            Micro mb = new Micro(idx, b);
            return finish(d, mb, device(d, mb, scale, backward), step);
        }
        Tensor logits = policy.logits(b);
        Tensor lp = TokenLogProbs.of(logits, b.targets);   // [R, T], 0 where no target
        checkLogProbs(d, idx, b, lp.toFloatArray(), step);
        float[] ref = d.reference.logps(b, keys(idx));
        List<List<double[]>> sims = sentenceScores(d, idx);
        LossResult res = PreferenceStep.loss(lossConfig, lp, ref, b, sims.get(0), sims.get(1), weightOrders(d, idx));
        checkPairs(d, idx, res, step);
        Tensor loss = res.loss();
        Map<String, Double> metrics = LossMetrics.of(res);
        double nllWeight = cfg.number("nll_weight");
        if (nllWeight > 0) {
            Tensor nll = ChosenNll.of(lp, b);
            metrics.put("nll_loss", (double) nll.item());
            loss = Arithmetic.add(loss, Arithmetic.scale(nll, (float) nllWeight));
            metrics.put("loss", (double) loss.item());
        }
        if (!Float.isFinite(loss.item())) {
            throw new TrainingStopped(step, "step " + step + ": the loss is " + loss.item() + " on records " + whereOf(d, idx));
        }
        if (backward) Arithmetic.scale(loss, scale).backward();
        return metrics;
    }

    /** A micro-batch: its records and their padded batch. */
    private record Micro(int[] idx, Batch batch) {}

    /**
     * A micro-batch's device results, read by {@link #finish} once its kernels ran (eagerly or
     * replayed): the log-probs (checked for non-finite values), the loss, and for DPO/ASPO the
     * device loss whose per-pair results feed the metrics.
     */
    private record DeviceResult(Tensor logProbs, Tensor loss, DevicePreferenceLoss.Pending preference) {}

    /**
     * A micro-batch's device work: forward, loss and (with {@code backward}) the backward of
     * {@code loss * scale}; nothing read back. DPO/ASPO take the device loss ({@link
     * DevicePreferenceLoss}) with the cached reference log-probs.
     */
    private DeviceResult device(Data d, Micro mb, float scale, boolean backward) {
        Batch b = mb.batch();
        Tensor logits = policy.logits(b);
        Tensor lp = TokenLogProbs.of(logits, b.targets);   // [R, T], 0 where no target: checked for non-finite values
        Tensor loss;
        DevicePreferenceLoss.Pending pref = null;
        if (mode == Mode.SFT) {
            loss = SftLoss.loss(logits, b.targets);
        } else {
            PreferenceInputs in = preferenceInputs(d, mb);
            pref = DevicePreferenceLoss.enqueue(lossConfig, lp, in.ref(), in.device());
            loss = pref.loss();
        }
        if (backward) Arithmetic.scale(loss, scale).backward();
        return new DeviceResult(lp, loss, pref);
    }

    /** A preference micro-batch's host arrays for the device loss: reference log-probs, ids and similarities. */
    private record PreferenceInputs(float[] ref, DevicePreferenceLoss.DeviceInputs device) {}

    private PreferenceInputs preferenceInputs(Data d, Micro mb) {
        Batch b = mb.batch();
        List<List<double[]>> sims = sentenceScores(d, mb.idx());
        return new PreferenceInputs(d.reference.logps(b, keys(mb.idx())), DevicePreferenceLoss.inputs(lossConfig, b.batch, b.seq,
                b.sentenceIds, sims.get(0), sims.get(1)));
    }

    /**
     * Per record of {@code idx}, the chosen and the rejected sentences' scores for the loss: with
     * {@code weights: oracle} their labels, else their image-text similarities (none when there are
     * none; the rejected ones only under {@code rejected-weighting = inverse}).
     */
    private List<List<double[]>> sentenceScores(Data d, int[] idx) {
        List<double[]> simC = null, simR = null;
        if (oracle() || !d.simChosen.isEmpty()) {
            simC = new ArrayList<>(idx.length);
            simR = new ArrayList<>(idx.length);
            for (int i : idx) {
                simC.add(oracle() ? d.records.get(i).chosenLabels() : d.simChosen.get(i));
                simR.add(oracle() ? d.records.get(i).rejectedLabels() : d.simRejected.get(i));
            }
        }
        return java.util.Arrays.asList(simC, lossConfig.weightsRejected() ? simR : null);
    }

    /** With {@code shuffle_weights}, the fixed permutations of the records of {@code idx} ({@link #weightOrder}); else null. */
    private List<int[]> weightOrders(Data d, int[] idx) {
        if (d.weightOrders == null) return null;
        List<int[]> out = new ArrayList<>(idx.length);
        for (int i : idx) out.add(d.weightOrders.get(i));
        return out;
    }

    /** Record {@code i}'s permutation of its {@code k} chosen sentences, fixed for the run (seeded by the run's seed and {@code i}). */
    private int[] weightOrder(int i, int k) {
        Integer[] order = new Integer[k];
        for (int j = 0; j < k; j++) order[j] = j;
        java.util.Collections.shuffle(Arrays.asList(order), new Random(cfg.integer("seed") * 1_000_003L + i));
        int[] o = new int[k];
        for (int j = 0; j < k; j++) o[j] = order[j];
        return o;
    }

    /** A clear stop at the first record whose loss is not finite. */
    private static void checkPairs(Data d, int[] idx, LossResult res, long step) {
        for (int j = 0; j < idx.length; j++) {
            if (!Float.isFinite(res.pairs().get(j).loss())) {
                throw new TrainingStopped(step, "step " + step + ": the loss is " + res.pairs().get(j).loss() + " at record "
                        + d.records.get(idx[j]).where());
            }
        }
    }

    /** The host side of a micro-batch: a clear stop on a non-finite log-prob or loss, and the metrics. */
    private Map<String, Double> finish(Data d, Micro mb, DeviceResult r, long step) {
        int[] idx = mb.idx();
        checkLogProbs(d, idx, mb.batch(), r.logProbs().toFloatArray(), step);
        Map<String, Double> metrics;
        if (r.preference() == null) {
            metrics = new LinkedHashMap<>();
            metrics.put("loss", (double) r.loss().item());
        } else {
            LossResult res = r.preference().result();
            checkPairs(d, idx, res, step);
            metrics = LossMetrics.of(res);
        }
        float loss = r.loss().item();
        if (!Float.isFinite(loss)) {
            throw new TrainingStopped(step, "step " + step + ": the loss is " + loss + " on records " + whereOf(d, idx));
        }
        return metrics;
    }

    /** Stops at the first non-finite log-prob of a target, naming the record, its side and the position. */
    private void checkLogProbs(Data d, int[] idx, Batch b, float[] values, long step) {
        for (int p = 0; p < values.length; p++) {
            if (b.targets[p] >= 0 && !Float.isFinite(values[p])) {
                int row = p / b.seq;
                Record r = d.records.get(idx[row % idx.length]);
                String side = mode == Mode.SFT ? "response" : row < idx.length ? "chosen" : "rejected";
                throw new TrainingStopped(step, "step " + step + ": non-finite log-prob (" + values[p] + ") in record "
                        + r.where() + " (" + side + "), position " + (p % b.seq));
            }
        }
    }

    /**
     * The step's device work as a task graph ({@code task_graph: true}): zeroGrad, then every
     * micro-batch's forward, loss and backward. A micro-batch's inputs are what the policy hands the
     * backend, the targets, and for DPO/ASPO the cached reference log-probs, the sentence ids and
     * the similarities (an empty array is no input: it carries nothing). A micro-batch's share of
     * the step ({@code rows / step rows}) is a constant of the plan: a step of another shape runs
     * eagerly ({@link StepGraph}).
     */
    private StepGraph<Micro, DeviceResult> stepGraph(Data d, AdamW opt) {
        OpenClBackend cl = (OpenClBackend) policy.module().namedParameters().values().iterator().next().backend();
        return new StepGraph<>(cl, batches -> {
            opt.zeroGrad();
            int rows = 0;
            for (Micro mb : batches) rows += mb.batch().batch;
            List<DeviceResult> out = new ArrayList<>();
            for (Micro mb : batches) out.add(device(d, mb, (float) mb.batch().batch / rows, true));
            return out;
        }, Micro::batch, mb -> {
            List<Object> in = new ArrayList<>(List.of(policy.deviceInputs(mb.batch())));
            in.add(mb.batch().targets);
            if (mode != Mode.SFT) {
                PreferenceInputs p = preferenceInputs(d, mb);
                in.add(p.ref());
                in.add(p.device().ids());
                if (p.device().similarities().length > 0) in.add(p.device().similarities());
            }
            return in.toArray();
        }, console::println);
    }

    private static String whereOf(Data d, int[] idx) {
        List<String> w = new ArrayList<>();
        for (int i : idx) w.add(d.records.get(i).where());
        return String.join(", ", w);
    }

    private Map<String, Object> evaluate(Data eval, long step) {
        Metrics m = new Metrics();
        int bs = cfg.integer("batch_size"), n = eval.records.size();
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < n; from += bs) {
                int[] idx = new int[Math.min(bs, n - from)];
                for (int j = 0; j < idx.length; j++) idx[j] = from + j;
                m.add(forward(eval, idx, batch(eval, idx), step, 1f, false), idx.length);
            }
        }
        return m.result();
    }

    /** Record-weighted means of micro-batch metrics; counts are summed, maxima kept. */
    private static final class Metrics {
        private final Map<String, Double> sums = new LinkedHashMap<>();
        private double weight;

        void add(Map<String, Double> m, int records) {
            weight += records;
            m.forEach((k, v) -> sums.merge(k, k.equals("aspo/ratio_fallbacks") ? v : k.equals("aspo/omega_max") ? v : v * records,
                    k.equals("aspo/omega_max") ? Math::max : Double::sum));
        }

        Map<String, Object> result() {
            Map<String, Object> out = new LinkedHashMap<>();
            sums.forEach((k, v) -> out.put(k, k.equals("aspo/ratio_fallbacks") || k.equals("aspo/omega_max") ? v : v / weight));
            return out;
        }
    }

    // ---- data order ---------------------------------------------------------------------------

    /** Position in the endless sequence of epochs, each a seeded permutation of the records. */
    static final class Cursor {
        final int n;
        final long seed;
        int epoch, position;
        private int[] order;
        private int orderEpoch = -1;

        Cursor(int n, long seed) {
            this.n = n;
            this.seed = seed;
        }

        /** The permutation of epoch {@code e}: Fisher-Yates with {@code Random(seed * 1000003 + e)}. */
        static int[] permutation(int n, long seed, int e) {
            int[] p = new int[n];
            for (int i = 0; i < n; i++) p[i] = i;
            Random rng = new Random(seed * 1_000_003L + e);
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1), tmp = p[i];
                p[i] = p[j];
                p[j] = tmp;
            }
            return p;
        }

        /** The next up to {@code bs} records (a micro-batch ends at the end of an epoch). */
        int[] next(int bs) {
            if (position >= n) {
                epoch++;
                position = 0;
            }
            if (orderEpoch != epoch) {
                order = permutation(n, seed, epoch);
                orderEpoch = epoch;
            }
            int k = Math.min(bs, n - position);
            int[] out = Arrays.copyOfRange(order, position, position + k);
            position += k;
            return out;
        }
    }

    // ---- checkpoints and metrics --------------------------------------------------------------

    private Path saveCheckpoint(Path out, long step, Cursor cursor, int records, AdamW opt) throws IOException {
        long maxShardBytes = cfg.maxShardBytes();
        return writeCheckpoint(out, step, dir -> policy.save(dir, maxShardBytes), opt, state(step, cursor, records, mode.key(), opt, cfg),
                tokenizer == null ? null : tokenizer.toJson());
    }

    /** What {@code trainer_state.json} holds: enough, with the config, to continue exactly. */
    static ObjectNode state(long step, Cursor cursor, int records, String mode, AdamW opt, TrainConfig cfg) {
        ObjectNode s = JSON.createObjectNode();
        s.put("global_step", step);
        s.put("epoch", cursor.epoch);
        s.put("position", cursor.position);
        s.put("records", records);
        s.put("seed", cursor.seed);
        s.put("shuffle", "Fisher-Yates with java.util.Random(seed * 1000003 + epoch)");
        s.put("mode", mode);
        s.put("lr_next", opt.lr());
        s.set("config", cfg.toJson());
        return s;
    }

    /** Something that writes a model into a directory. */
    interface ModelWriter {
        void save(Path dir) throws IOException;
    }

    /**
     * {@code out/checkpoint-<step>/}: the model (HF layout), {@code optimizer.safetensors}
     * ({@link AdamW#state()}), {@code trainer_state.json} and the tokenizer, written under a
     * temporary name and renamed, so a checkpoint directory is complete or absent.
     */
    static Path writeCheckpoint(Path out, long step, ModelWriter model, AdamW opt, ObjectNode state, String tokenizerJson)
            throws IOException {
        Path dir = out.resolve("checkpoint-" + step);
        Path tmp = out.resolve(".checkpoint-" + step + ".tmp");
        deleteTree(tmp);
        Files.createDirectories(tmp);
        model.save(tmp);
        Map<String, Tensor> st = new LinkedHashMap<>();
        opt.state().forEach((k, v) -> st.put(k, Tensor.of(v, v.length)));
        SafeTensors.write(tmp.resolve(OPTIMIZER), st, Map.of(), Map.of("format", "aspo-adamw"));
        Files.writeString(tmp.resolve(STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state));
        if (tokenizerJson != null) Files.writeString(tmp.resolve("tokenizer.json"), tokenizerJson);
        deleteTree(dir);
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        return dir;
    }

    /** Loads {@code optimizer.safetensors} of checkpoint {@code dir} into {@code opt}. */
    static void loadOptimizer(Path dir, AdamW opt) throws IOException {
        Map<String, float[]> state = new LinkedHashMap<>();
        for (var e : SafeTensors.readFloats(dir.resolve(OPTIMIZER)).entrySet()) state.put(e.getKey(), e.getValue().toFloatArray());
        opt.loadState(state);
    }

    /** The checkpoint with the highest step under {@code dir} (complete ones only: they appear by rename), or null. */
    public static Path latestCheckpoint(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return null;
        Path best = null;
        long bestStep = -1;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = CHECKPOINT.matcher(p.getFileName().toString());
                if (m.matches() && Files.isRegularFile(p.resolve(STATE)) && Long.parseLong(m.group(1)) > bestStep) {
                    bestStep = Long.parseLong(m.group(1));
                    best = p;
                }
            }
        }
        return best;
    }

    static void appendMetrics(Path file, Map<String, Object> line) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(line) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** Keeps the lines of steps up to {@code step} (a resumed run rewrites what came after its checkpoint). */
    static void truncateMetrics(Path file, long step) throws IOException {
        if (!Files.exists(file)) return;
        List<String> keep = new ArrayList<>();
        for (JsonNode l : StateFiles.readJsonLines(file, "remove that line (or the file) and resume again")) {
            if (l.path("step").asLong(Long.MAX_VALUE) <= step) keep.add(JSON.writeValueAsString(l));
        }
        Files.write(file, keep);
    }

    /** Deletes a file or a directory with everything in it (nothing when absent). */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(q);
        }
    }
}
