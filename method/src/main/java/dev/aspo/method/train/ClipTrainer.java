package dev.aspo.method.train;

import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.BufferPool;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import dev.aspo.tensor.optim.LrSchedule;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Contrastive training of a CLIP dual encoder (HF {@code CLIPModel}) on image-caption records:
 * symmetric InfoNCE over the batch with the learned temperature {@code logit_scale}
 * ({@code (CE(S, diag) + CE(S^T, diag)) / 2}, {@code S = exp(logit_scale) t i^T}), clamped after
 * each step to {@code ln 100} as in OpenAI's CLIP. Same optimiser, schedule, checkpoints, resume
 * and metrics as {@link Trainer}. With {@code grad_accum > 1} each micro-batch is its own set of
 * negatives (a different loss from one large batch, as in any accumulation without feature caching).
 *
 * <p>Hard negatives (NegCLIP): a record's {@code negatives} are texts false of its image. They join
 * the batch's texts as extra columns of the image-to-text direction only,
 * {@code (CE([S | S_neg], diag) + CE(S^T, diag)) / 2}, {@code S_neg = exp(logit_scale) i n^T} over
 * every negative of the micro-batch; without negatives this is HF's {@code clip_loss}.
 *
 * <p>Metrics: {@code loss}, {@code accuracy} (image-to-text top-1 within the batch, negatives included),
 * {@code logit_scale} ({@code exp}, the temperature's inverse), {@code grad_norm}, {@code lr},
 * {@code tokens_per_s} (text tokens).
 */
public final class ClipTrainer {
    private static final float MAX_LOGIT_SCALE = (float) Math.log(100);

    private final TrainConfig cfg;
    private final ClipModel model;
    private final Tokenizer tokenizer;
    private final ClipImageProcessor processor;
    private final PrintStream console;
    private StepListener listener = StepListener.NONE;

    /** Tells {@code l} after every step (besides the console progress). */
    public void onStep(StepListener l) {
        this.listener = l == null ? StepListener.NONE : l;
    }

    /** Loads the CLIP directory of the config's {@code model} key (weights, tokenizer.json, preprocessor_config.json). */
    public ClipTrainer(TrainConfig cfg, PrintStream console) throws IOException {
        this(cfg, ClipModel.load(cfg.requirePath("model")),
                Tokenizer.fromFile(cfg.isSet("tokenizer") ? cfg.path("tokenizer") : cfg.requirePath("model").resolve("tokenizer.json")),
                ClipImageProcessor.load(cfg.requirePath("model")), console);
    }

    public ClipTrainer(TrainConfig cfg, ClipModel model, Tokenizer tokenizer, ClipImageProcessor processor, PrintStream console) {
        this.cfg = cfg;
        this.model = model;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.console = console;
    }

    public record Result(long steps, Path lastCheckpoint) {}

    private static final class Data {
        final List<Record> records = new ArrayList<>();
        final List<int[]> ids = new ArrayList<>();
        final List<List<int[]>> negatives = new ArrayList<>();
        final List<float[]> pixels = new ArrayList<>();   // per record; records of one image share the array
        int[] chw;
    }

    public Result run(Path resume) throws IOException {
        Path out = RunDirectory.open(cfg, resume, console);   // refuses to mix two runs; removes leftovers of a crash
        Data train = prepare(cfg.requirePath("train_file"));
        Data eval = cfg.isSet("eval_file") ? prepare(cfg.path("eval_file")) : null;
        int n = train.records.size(), bs = cfg.integer("batch_size"), accum = cfg.integer("grad_accum");
        if (bs < 2) throw new IllegalArgumentException("batch_size must be at least 2 for contrastive training (in-batch negatives)");
        long microPerEpoch = (n + bs - 1) / bs;
        long total = cfg.integer("max_steps") > 0 ? cfg.integer("max_steps") : cfg.integer("epochs") * ((microPerEpoch + accum - 1) / accum);
        LrSchedule schedule = LrSchedule.cosineWithWarmup(cfg.number("lr"), Math.min(cfg.integer("warmup_steps"), total), total,
                cfg.number("min_lr_ratio"));
        AdamW opt = new AdamW(model.namedParameters(), new AdamW.Options(cfg.number("lr"), cfg.number("adam_beta1"),
                cfg.number("adam_beta2"), cfg.number("adam_eps"), cfg.number("weight_decay")),
                name -> AdamW.biasesAndNorms().test(name) || name.equals("logit_scale"));
        Trainer.Cursor cursor = new Trainer.Cursor(n, cfg.integer("seed"));
        Path metricsFile = out.resolve(Trainer.METRICS), last = null;
        long step = 0;
        if (resume != null) {
            last = Trainer.latestCheckpoint(resume);
            if (last == null) throw new IllegalArgumentException(resume + ": no complete checkpoint-<step> directory to resume from");
            TrainerState st = TrainerState.read(last);
            step = st.step();
            cursor.epoch = st.epoch();
            cursor.position = st.position();
            ClipModel saved = ClipModel.load(last);
            saved.namedParameters().forEach(model::copyFrom);
            Trainer.loadOptimizer(last, opt);
            Trainer.truncateMetrics(metricsFile, step);
        } else {
            Files.deleteIfExists(metricsFile);
        }
        cfg.with("overwrite_output_dir", "false").save(out.resolve(Trainer.CONFIG));   // resuming never deletes
        Progress progress = new Progress(console, Progress.style(cfg.str("progress")), cfg.integer("log_every"), step, total);
        double maxNorm = cfg.number("max_grad_norm");
        while (step < total) {
            long t0 = System.nanoTime();
            List<int[]> micro = new ArrayList<>();
            int stepRecords = 0;
            for (int a = 0; a < accum; a++) {
                int[] idx = cursor.next(bs);
                micro.add(idx);
                stepRecords += idx.length;
            }
            opt.zeroGrad();
            double loss = 0, acc = 0;
            long tokens = 0;
            for (int[] idx : micro) {
                float[] r;
                try (var buffers = BufferPool.step()) {   // the micro-batch's graph serves the next one
                    r = forward(train, idx, step + 1, (float) idx.length / stepRecords, true);
                }
                loss += r[0] * idx.length / stepRecords;
                acc += r[1] * idx.length / stepRecords;
                for (int i : idx) tokens += train.ids.get(i).length;
            }
            double norm = maxNorm > 0 ? GradClip.clipGlobalNorm(opt.params(), maxNorm) : GradClip.globalNorm(opt.params());
            if (!Double.isFinite(norm)) {
                throw new TrainingStopped(step + 1, "step " + (step + 1) + ": the gradient norm is " + norm);
            }
            double lr = schedule.lr(step);
            opt.setLr(lr);
            opt.step();
            if (model.logitScale.item() > MAX_LOGIT_SCALE) model.copyFrom("logit_scale", Tensor.full(MAX_LOGIT_SCALE, model.logitScale.shape()));
            step++;
            double secs = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("step", step);
            line.put("epoch", cursor.epoch + (double) cursor.position / n);
            line.put("loss", loss);
            line.put("accuracy", acc);
            line.put("logit_scale", Math.exp(model.logitScale.item()));
            line.put("grad_norm", norm);
            line.put("lr", lr);
            line.put("tokens_per_s", tokens / secs);
            if (step % cfg.integer("log_every") == 0 || step == total) Trainer.appendMetrics(metricsFile, line);
            progress.step(step, loss, tokens / secs);
            listener.step(step, total);
            boolean end = step == total;
            if (eval != null && ((cfg.integer("eval_every") > 0 && step % cfg.integer("eval_every") == 0) || end)) {
                Map<String, Object> ev = new LinkedHashMap<>();
                ev.put("step", step);
                double el = 0, ea = 0;
                int en = eval.records.size();
                try (var g = Autograd.noGrad()) {
                    for (int from = 0; from < en; from += bs) {
                        int[] idx = new int[Math.min(bs, en - from)];
                        for (int j = 0; j < idx.length; j++) idx[j] = from + j;
                        float[] r = forward(eval, idx, step, 1f, false);
                        el += r[0] * idx.length / en;
                        ea += r[1] * idx.length / en;
                    }
                }
                ev.put("eval_loss", el);
                ev.put("eval_accuracy", ea);
                Trainer.appendMetrics(metricsFile, ev);
                progress.message(String.format(Locale.ROOT, "step %d: eval_loss %.4f eval_accuracy %.3f", step, el, ea));
            }
            if ((cfg.integer("save_every") > 0 && step % cfg.integer("save_every") == 0) || end) {
                last = Trainer.writeCheckpoint(out, step, dir -> {
                    model.save(dir, cfg.maxShardBytes());
                    processor.save(dir);
                }, opt, Trainer.state(step, cursor, n, "clip", opt, cfg), tokenizer.toJson());
            }
        }
        BufferPool.clear();                     // the last step's buffers: no further step takes them
        return new Result(step, last);
    }

    private Data prepare(Path file) throws IOException {
        boolean skip = cfg.bool("skip_bad_records");
        Dataset ds = Dataset.load(file, Dataset.Kind.CAPTION, skip, cfg.path("image_root"));
        Data d = new Data();
        Map<Path, float[]> byImage = new java.util.HashMap<>();   // several captions of one image: one pixel array
        for (Record r : ds.records()) {
            Path image = r.images().get(0);
            float[] px = byImage.get(image);
            if (px == null) {
                int[] hw = new int[2];
                try {
                    px = processor.preprocess(dev.aspo.models.image.RgbImage.read(image), hw);
                } catch (IOException | RuntimeException e) {
                    if (!skip) throw new DatasetException(r.where() + ": cannot read image " + image + ": " + e.getMessage());
                    continue;
                }
                int[] chw = {3, hw[0], hw[1]};
                if (d.chw == null) d.chw = chw;
                else if (!Arrays.equals(d.chw, chw)) {
                    throw new DatasetException(r.where() + ": image comes out " + hw[0] + "x" + hw[1] + ", others " + d.chw[1] + "x" + d.chw[2]
                            + " (turn do_center_crop on)");
                }
                byImage.put(image, px);
            }
            int[] ids = ClipText.ids(tokenizer, model.config().textConfig(), r.response());
            List<int[]> negatives = new ArrayList<>();
            for (String n : r.negatives()) negatives.add(ClipText.ids(tokenizer, model.config().textConfig(), n));
            d.records.add(r);
            d.ids.add(ids);
            d.negatives.add(negatives);
            d.pixels.add(px);
        }
        if (d.records.isEmpty()) throw new DatasetException(file + ": no usable records");
        return d;
    }

    /** {loss, accuracy} of records {@code idx}; with {@code backward} the loss times {@code scale} is back-propagated. */
    private float[] forward(Data d, int[] idx, long step, float scale, boolean backward) {
        int b = idx.length, per = d.pixels.get(0).length;
        List<int[]> texts = new ArrayList<>();           // the captions, then every negative of the micro-batch
        for (int i : idx) texts.add(d.ids.get(i));
        for (int i : idx) texts.addAll(d.negatives.get(i));
        int nt = texts.size(), t = 0;
        for (int[] s : texts) t = Math.max(t, s.length);
        int eos = model.config().textConfig().eosTokenId();
        int pad = eos == 2 ? 0 : eos;   // legacy configs pool at argmax(id): pad with a small id there
        int[] ids = new int[nt * t], mask = new int[nt * t];
        Arrays.fill(ids, pad);
        for (int j = 0; j < nt; j++) {
            int[] s = texts.get(j);
            System.arraycopy(s, 0, ids, j * t, s.length);
            Arrays.fill(mask, j * t, j * t + s.length, 1);
        }
        float[] px = new float[b * per];
        for (int j = 0; j < b; j++) System.arraycopy(d.pixels.get(idx[j]), 0, px, j * per, per);
        Tensor pixels = Tensor.of(px, b, d.chw[0], d.chw[1], d.chw[2]);
        Tensor loss, perImage;
        if (nt == b) {
            var output = model.forward(ids, b, t, mask, pixels, true);
            loss = output.loss();
            perImage = output.logitsPerImage();
        } else {
            Tensor image = model.imageEmbeds(pixels), text = model.textEmbeds(ids, nt, t, mask);
            perImage = model.logitsPerImage(image, text);                       // [b, nt]: captions, then negatives
            Tensor perText = Shapes.slice(model.logitsPerText(text, image), 0, 0, b);   // captions only
            loss = Arithmetic.scale(Arithmetic.add(CrossEntropy.mean(perImage, diagonal(b)), CrossEntropy.mean(perText, diagonal(b))), 0.5f);
        }
        float value = loss.item();
        if (!Float.isFinite(value)) {
            List<String> w = new ArrayList<>();
            for (int i : idx) w.add(d.records.get(i).where());
            throw new TrainingStopped(step, "step " + step + ": the loss is " + value + " on records " + String.join(", ", w));
        }
        float[] s = perImage.toFloatArray();
        int right = 0;
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int j = 1; j < nt; j++) if (s[i * nt + j] > s[i * nt + best]) best = j;
            if (best == i) right++;
        }
        if (backward) Arithmetic.scale(loss, scale).backward();
        return new float[] {value, (float) right / b};
    }

    private static int[] diagonal(int n) {
        int[] d = new int[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return d;
    }
}
