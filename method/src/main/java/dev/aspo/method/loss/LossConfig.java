package dev.aspo.method.loss;

import java.util.Locale;

/**
 * The options of the preference losses (docs/METHOD.md). Defaults: {@link #dpo()} is TRL's sigmoid DPO with
 * beta 0.1; {@link #aspo()} adds ASPO's sentence weights with alpha 0.5, {@code mean}
 * normalisation and the detached policy as the perplexity source.
 *
 * @param lossType          DPO (whole responses) or ASPO (sentence-weighted chosen response)
 * @param objective         what is made of the reward margin: TRL's {@code sigmoid} or {@code ipo}
 * @param beta              the DPO temperature, {@code > 0}
 * @param labelSmoothing    cDPO's label smoothing in {@code [0, 0.5]} (sigmoid only)
 * @param alpha             the fusion weight of the similarity score, in {@code [0, 1]}
 * @param normalization     how {@code R_c / R_c*} is read (docs/METHOD.md step 7)
 * @param perplexitySource  whose log-probs give the perplexity scores
 * @param rejectedWeighting whether the rejected response is weighted too ({@code inverse})
 * @param weightSource      the fused adaptive weights, or given ground-truth weights per sentence
 */
public record LossConfig(LossType lossType, Objective objective, double beta, double labelSmoothing, double alpha,
                         Normalization normalization, PerplexitySource perplexitySource,
                         RejectedWeighting rejectedWeighting, WeightSource weightSource) {

    public LossConfig {
        if (lossType == null || objective == null || normalization == null || perplexitySource == null
                || rejectedWeighting == null || weightSource == null) {
            throw new IllegalArgumentException("loss config: every option needs a value");
        }
        if (!(beta > 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("beta must be a positive number, got " + beta);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 0.5)) {
            throw new IllegalArgumentException("label_smoothing must be in [0, 0.5], got " + labelSmoothing);
        }
        if (labelSmoothing > 0 && objective != Objective.SIGMOID) {
            throw new IllegalArgumentException("label_smoothing applies to the sigmoid objective only, not " + objective.key());
        }
        if (!(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
    }

    /** Sigmoid DPO, beta 0.1 (other options at their ASPO defaults, unused by DPO). */
    public static LossConfig dpo() {
        return new LossConfig(LossType.DPO, Objective.SIGMOID, 0.1, 0, 0.5, Normalization.MEAN, PerplexitySource.POLICY,
                RejectedWeighting.NONE, WeightSource.ADAPTIVE);
    }

    /** ASPO with the paper's defaults: beta 0.1, alpha 0.5, mean normalisation, detached policy perplexity. */
    public static LossConfig aspo() {
        return dpo().withLossType(LossType.ASPO);
    }

    public boolean weightsChosen() {
        return lossType == LossType.ASPO;
    }

    public boolean weightsRejected() {
        return lossType == LossType.ASPO && rejectedWeighting == RejectedWeighting.INVERSE;
    }

    public LossConfig withLossType(LossType v) {
        return new LossConfig(v, objective, beta, labelSmoothing, alpha, normalization, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withObjective(Objective v) {
        return new LossConfig(lossType, v, beta, labelSmoothing, alpha, normalization, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withBeta(double v) {
        return new LossConfig(lossType, objective, v, labelSmoothing, alpha, normalization, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withLabelSmoothing(double v) {
        return new LossConfig(lossType, objective, beta, v, alpha, normalization, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withAlpha(double v) {
        return new LossConfig(lossType, objective, beta, labelSmoothing, v, normalization, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withNormalization(Normalization v) {
        return new LossConfig(lossType, objective, beta, labelSmoothing, alpha, v, perplexitySource, rejectedWeighting, weightSource);
    }

    public LossConfig withPerplexitySource(PerplexitySource v) {
        return new LossConfig(lossType, objective, beta, labelSmoothing, alpha, normalization, v, rejectedWeighting, weightSource);
    }

    public LossConfig withRejectedWeighting(RejectedWeighting v) {
        return new LossConfig(lossType, objective, beta, labelSmoothing, alpha, normalization, perplexitySource, v, weightSource);
    }

    public LossConfig withWeightSource(WeightSource v) {
        return new LossConfig(lossType, objective, beta, labelSmoothing, alpha, normalization, perplexitySource, rejectedWeighting, v);
    }

    /** An option value with the name it has in JSON specs and on the command line. */
    public interface Keyed {
        String key();
    }

    public enum LossType implements Keyed { DPO, ASPO;
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** TRL's loss_type for the margin: {@code sigmoid} (DPO) or {@code ipo} (on length-averaged log-ratios, as TRL). */
    public enum Objective implements Keyed { SIGMOID, IPO;
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * How the weights become the effective {@code omega_i}: ASPO's {@code mean} and {@code reward-ratio}
     * (docs/METHOD.md step 7), or {@code none}: {@code omega_i = w_i} as they are, so that a weight of 0
     * removes a sentence from the chosen reward (the study's {@code oracle_mask}; not in the paper).
     */
    public enum Normalization implements Keyed { MEAN, REWARD_RATIO, NONE;
        public String key() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public enum PerplexitySource implements Keyed { POLICY, REFERENCE;
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum RejectedWeighting implements Keyed { NONE, INVERSE;
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum WeightSource implements Keyed { ADAPTIVE, ORACLE;
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The constant of {@code type} whose {@link Keyed#key()} is {@code key}; the error names {@code field} and the choices. */
    public static <E extends Enum<E> & Keyed> E parse(Class<E> type, String key, String field) {
        StringBuilder choices = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            if (e.key().equals(key)) return e;
            choices.append(choices.length() == 0 ? "" : ", ").append(e.key());
        }
        throw new IllegalArgumentException(field + ": unknown value \"" + key + "\" (expected one of " + choices + ")");
    }
}
