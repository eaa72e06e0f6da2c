package dev.aspo.method.train;

import dev.aspo.method.data.Dataset;
import dev.aspo.method.data.DatasetException;
import dev.aspo.method.data.Record;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.optim.AdamW;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Contrastive training of a CLIP dual encoder (HF {@code CLIPModel}) on image-caption records:
 * symmetric InfoNCE over the batch with the learned temperature {@code logit_scale}
 * ({@code (CE(S, diag) + CE(S^T, diag)) / 2}, {@code S = exp(logit_scale) t i^T}), clamped after
 * each step to {@code ln 100} as in OpenAI's CLIP. The loop (optimiser, schedule, checkpoints, resume,
 * metrics) is {@link TrainingLoop}, as for {@link Trainer}; this class gives it the micro-batch. With {@code grad_accum > 1} each micro-batch is its own set of
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
        if (cfg.dtype() != Precision.FLOAT32) {
            throw new IllegalArgumentException("dtype: " + cfg.str("dtype") + " holds frozen weights (a reference model, parameters"
                    + " under freeze), and CLIP training freezes none; leave dtype at float32");
        }
        this.cfg = cfg;
        this.model = model;
        this.tokenizer = tokenizer;
        this.processor = processor;
        this.console = console;
        if (LoraSettings.of(cfg) != null) {
            throw new IllegalArgumentException("lora: LoRA adapters are trained for sft, dpo and aspo; clip trains the whole model");
        }
        model.setGradientCheckpointing(cfg.bool("gradient_checkpointing"));
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
        if (cfg.integer("batch_size") < 2) {
            throw new IllegalArgumentException("batch_size must be at least 2 for contrastive training (in-batch negatives)");
        }
        AdamW opt = new AdamW(model.namedParameters(), cfg.adamW(),
                name -> AdamW.biasesAndNorms().test(name) || name.equals("logit_scale"));   // no weight decay on the temperature
        Checkpoints checkpoints = new Checkpoints(out, "clip", cfg, new Checkpoints.Weights() {
            @Override
            public void save(Path dir) throws IOException {
                model.save(dir, cfg.maxShardBytes());
                processor.save(dir);
            }

            @Override
            public void load(Path checkpoint) throws IOException {
                ClipModel.load(checkpoint).namedParameters().forEach(model::copyFrom);
            }
        }, tokenizer.toJson());
        TrainingLoop.Outcome o = new TrainingLoop(cfg, out, console, listener)
                .run(resume, new Step(train, eval), train.records, eval == null ? List.of() : eval.records, opt, checkpoints);
        return new Result(o.steps(), o.lastCheckpoint());
    }

    /** A micro-batch of contrastive training for the {@link TrainingLoop}. */
    private final class Step implements TrainingTask {
        private final Data train, eval;

        Step(Data train, Data eval) {
            this.train = train;
            this.eval = eval;
        }

        @Override
        public MicroResult forwardBackward(int[] idx, long step, float share) {
            long tokens = 0;
            for (int i : idx) tokens += train.ids.get(i).length;
            return new MicroResult(lossAndAccuracy(train, idx, step, share, true), tokens);
        }

        @Override
        public Map<String, Double> evaluate(int[] idx, long step) {
            return lossAndAccuracy(eval, idx, step, 1f, false);
        }

        /** The learned temperature is clamped to {@code ln 100} after every step, as in OpenAI's CLIP. */
        @Override
        public Map<String, Object> afterOptimizerStep() {
            if (model.logitScale.item() > MAX_LOGIT_SCALE) model.copyFrom("logit_scale", Tensor.full(MAX_LOGIT_SCALE, model.logitScale.shape()));
            return Map.of("logit_scale", Math.exp(model.logitScale.item()));
        }
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

    /** {@code loss} and {@code accuracy} of records {@code idx}; with {@code backward} the loss times {@code share} is back-propagated. */
    private Map<String, Double> lossAndAccuracy(Data d, int[] idx, long step, float share, boolean backward) {
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
        if (backward) Arithmetic.scale(loss, share).backward();
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("loss", (double) value);
        metrics.put("accuracy", (double) right / b);
        return metrics;
    }

    private static int[] diagonal(int n) {
        int[] d = new int[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return d;
    }
}
