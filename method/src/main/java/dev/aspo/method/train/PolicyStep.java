package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Record;
import dev.aspo.method.loss.DevicePreferenceLoss;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossMetrics;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.SftLoss;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.optim.AdamW;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A micro-batch of SFT, DPO or ASPO ({@link Trainer}) for the {@link TrainingLoop}:
 * <pre>
 *   records --&gt; [chosen rows | rejected rows] --policy--&gt; logits --TokenLogProbs--&gt; per-token log-probs [2B, T]
 *   reference log-probs (frozen copy, or the per-token cache) --&gt; PreferenceLoss (SFT: SftLoss)
 *   loss * share --backward--&gt; gradients add up
 * </pre>
 * A non-finite log-prob or loss stops the run naming the record. With {@code task_graph: true} the
 * step's device work is recorded once and replayed ({@link StepGraph}); DPO and ASPO then take the
 * device loss ({@link DevicePreferenceLoss}), as SFT always does.
 */
final class PolicyStep implements TrainingTask, AutoCloseable {
    private final TrainConfig cfg;
    private final LossConfig lossConfig;
    private final PolicyModel policy;
    private final PolicyData train, eval;
    private final StepGraph<Micro, DeviceResult> graph;
    /** The adapters a LoRA run trains (null: none): dropout while training, none in evaluation. */
    private final LoraTraining lora;

    /** Steps whose device work was a task-graph replay. */
    long replayedSteps;

    /**
     * @param lossConfig DPO's or ASPO's loss (null: SFT)
     * @param eval       the evaluation data, or null
     * @param opt        zeroed inside a recorded step ({@code task_graph: true})
     * @param lora       the adapters of a LoRA run, or null
     */
    PolicyStep(TrainConfig cfg, LossConfig lossConfig, PolicyModel policy, PolicyData train, PolicyData eval, AdamW opt,
               LoraTraining lora, PrintStream console) {
        this.lora = lora;
        this.cfg = cfg;
        this.lossConfig = lossConfig;
        this.policy = policy;
        this.train = train;
        this.eval = eval;
        this.graph = cfg.bool("task_graph") ? stepGraph(opt, console) : null;
    }

    /** Whether ASPO's sentence weights come from labels in the data ({@code weights: oracle}). */
    static boolean oracle(LossConfig c) {
        return c != null && c.weightSource() == LossConfig.WeightSource.ORACLE;
    }

    @Override
    public MicroResult forwardBackward(int[] idx, long step, float share) {
        if (lora != null) lora.train(step);
        Batch b = batch(train, idx);
        return new MicroResult(lossAndMetrics(train, idx, b, step, share, true), b.tokens);
    }

    @Override
    public Map<String, Double> evaluate(int[] idx, long step) {
        if (lora != null) lora.eval();
        return lossAndMetrics(eval, idx, batch(eval, idx), step, 1f, false);
    }

    @Override
    public List<MicroResult> forwardBackwardStep(List<int[]> micro, long step) {
        if (graph == null) return null;
        if (lora != null) lora.train(step);   // no dropout with a task graph: the mode only
        List<Micro> batches = new ArrayList<>();
        for (int[] idx : micro) batches.add(new Micro(idx, batch(train, idx)));
        List<DeviceResult> results = graph.run(batches);
        if (graph.replayed()) replayedSteps++;
        List<MicroResult> out = new ArrayList<>();
        for (int i = 0; i < batches.size(); i++) out.add(new MicroResult(finish(train, batches.get(i), results.get(i), step),
                batches.get(i).batch().tokens));
        return out;
    }

    @Override
    public void close() {
        if (graph != null) graph.close();
    }

    private Batch batch(PolicyData d, int[] idx) {
        return d.batch(idx, policy.padId(), cfg.bool("task_graph") ? cfg.integer("max_length") : 0);
    }

    /**
     * Loss and metrics of records {@code idx}; with {@code backward}, the loss times {@code share}
     * is back-propagated (gradients accumulate).
     */
    private Map<String, Double> lossAndMetrics(PolicyData d, int[] idx, Batch b, long step, float share, boolean backward) {
        if (lossConfig == null) {   // SFT
            Micro mb = new Micro(idx, b);
            return finish(d, mb, deviceWork(d, mb, share, backward), step);
        }
        Tensor logits = policy.logits(b);
        Tensor lp = TokenLogProbs.of(logits, b.targets);   // [R, T], 0 where no target
        checkLogProbs(d, idx, b, lp.toFloatArray(), step);
        float[] ref = d.reference.logps(b, d.keys(idx));
        List<List<double[]>> sims = sentenceScores(d, idx);
        LossResult res = PreferenceStep.loss(lossConfig, lp, ref, b, sims.get(0), sims.get(1), d.weightOrders(idx));
        checkPairs(d, idx, res, step);
        Tensor loss = res.loss();
        Map<String, Double> metrics = LossMetrics.of(res);
        double nllWeight = cfg.number("nll_weight");
        if (nllWeight > 0) {
            Tensor nll = cfg.str("nll_weighting").equals("sentence") ? ChosenNll.sentenceWeighted(lp, b, res) : ChosenNll.of(lp, b);
            metrics.put("nll_loss", (double) nll.item());
            loss = Arithmetic.add(loss, Arithmetic.scale(nll, (float) nllWeight));
            metrics.put("loss", (double) loss.item());
        }
        if (!Float.isFinite(loss.item())) {
            throw new TrainingStopped(step, "step " + step + ": the loss is " + loss.item() + " on records " + d.where(idx));
        }
        if (backward) Arithmetic.scale(loss, share).backward();
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
     * {@code loss * share}; nothing read back. DPO/ASPO take the device loss ({@link
     * DevicePreferenceLoss}) with the cached reference log-probs.
     */
    private DeviceResult deviceWork(PolicyData d, Micro mb, float share, boolean backward) {
        Batch b = mb.batch();
        Tensor logits = policy.logits(b);
        Tensor lp = TokenLogProbs.of(logits, b.targets);   // [R, T], 0 where no target: checked for non-finite values
        Tensor loss;
        DevicePreferenceLoss.Pending pref = null;
        if (lossConfig == null) {
            loss = SftLoss.loss(logits, b.targets);
        } else {
            PreferenceInputs in = preferenceInputs(d, mb);
            pref = DevicePreferenceLoss.enqueue(lossConfig, lp, in.ref(), in.device());
            loss = pref.loss();
        }
        if (backward) Arithmetic.scale(loss, share).backward();
        return new DeviceResult(lp, loss, pref);
    }

    /** A preference micro-batch's host arrays for the device loss: reference log-probs, ids and similarities. */
    private record PreferenceInputs(float[] ref, DevicePreferenceLoss.DeviceInputs device) {}

    private PreferenceInputs preferenceInputs(PolicyData d, Micro mb) {
        Batch b = mb.batch();
        List<List<double[]>> sims = sentenceScores(d, mb.idx());
        return new PreferenceInputs(d.reference.logps(b, d.keys(mb.idx())), DevicePreferenceLoss.inputs(lossConfig, b.batch, b.seq,
                b.sentenceIds, sims.get(0), sims.get(1)));
    }

    /**
     * Per record of {@code idx}, the chosen and the rejected sentences' scores for the loss: with
     * {@code weights: oracle} their labels, else their image-text similarities (none when there are
     * none; the rejected ones only under {@code rejected-weighting = inverse}).
     */
    private List<List<double[]>> sentenceScores(PolicyData d, int[] idx) {
        boolean oracle = oracle(lossConfig);
        List<double[]> simC = null, simR = null;
        if (oracle || !d.simChosen.isEmpty()) {
            simC = new ArrayList<>(idx.length);
            simR = new ArrayList<>(idx.length);
            for (int i : idx) {
                simC.add(oracle ? d.records.get(i).chosenLabels() : d.simChosen.get(i));
                simR.add(oracle ? d.records.get(i).rejectedLabels() : d.simRejected.get(i));
            }
        }
        return Arrays.asList(simC, lossConfig.weightsRejected() ? simR : null);
    }

    /** A clear stop at the first record whose loss is not finite. */
    private static void checkPairs(PolicyData d, int[] idx, LossResult res, long step) {
        for (int j = 0; j < idx.length; j++) {
            if (!Float.isFinite(res.pairs().get(j).loss())) {
                throw new TrainingStopped(step, "step " + step + ": the loss is " + res.pairs().get(j).loss() + " at record "
                        + d.records.get(idx[j]).where());
            }
        }
    }

    /** The host side of a micro-batch: a clear stop on a non-finite log-prob or loss, and the metrics. */
    private Map<String, Double> finish(PolicyData d, Micro mb, DeviceResult r, long step) {
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
            throw new TrainingStopped(step, "step " + step + ": the loss is " + loss + " on records " + d.where(idx));
        }
        return metrics;
    }

    /** Stops at the first non-finite log-prob of a target, naming the record, its side and the position. */
    private void checkLogProbs(PolicyData d, int[] idx, Batch b, float[] values, long step) {
        for (int p = 0; p < values.length; p++) {
            if (b.targets[p] >= 0 && !Float.isFinite(values[p])) {
                int row = p / b.seq;
                Record r = d.records.get(idx[row % idx.length]);
                String side = !d.pairs ? "response" : row < idx.length ? "chosen" : "rejected";
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
    private StepGraph<Micro, DeviceResult> stepGraph(AdamW opt, PrintStream console) {
        OpenClBackend cl = (OpenClBackend) policy.module().namedParameters().values().iterator().next().backend();
        return new StepGraph<>(cl, batches -> {
            opt.zeroGrad();
            int rows = 0;
            for (Micro mb : batches) rows += mb.batch().batch;
            List<DeviceResult> out = new ArrayList<>();
            for (Micro mb : batches) out.add(deviceWork(train, mb, (float) mb.batch().batch / rows, true));
            return out;
        }, Micro::batch, mb -> {
            List<Object> in = new ArrayList<>(List.of(policy.deviceInputs(mb.batch())));
            in.add(mb.batch().targets);
            if (lossConfig != null) {
                PreferenceInputs p = preferenceInputs(train, mb);
                in.add(p.ref());
                in.add(p.device().ids());
                if (p.device().similarities().length > 0) in.add(p.device().similarities());
            }
            return in.toArray();
        }, console::println);
    }
}
