package dev.aspo.method.study;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The sizes of one reproduction study. Every scale trains the same compact models; they differ in
 * how many scenes, steps and pairs they use, so that {@code smoke} fits CI (under 3 minutes),
 * {@code small} the README's main command (under 20 minutes) and {@code full} three hours with five
 * seeds, on a 2-core machine. docs/RESULTS.md states the figures.
 *
 * <p>The SFT length is the knob that sets how wrong the chosen answers are, and so whether ASPO has
 * anything to discount: on 3000 scenes with a cosine schedule, 6000 SFT steps left 27%, 15% and
 * 78% of the chosen sentences wrong for seeds 1, 2 and 3 (the image is used late and at a
 * seed-dependent step), and 8000 steps on 4000 scenes left 1%. So SFT runs at a constant rate in
 * chunks and stops at the first check where at most 30% of its description sentences are wrong
 * (the previous design's full study: seed 1 at 9000 steps, seed 2 at 6000, seed 3 still 48% at
 * 11000). Since the vision tower's positions carry place (std 3), the model is past 30% by 4000
 * steps (6-7% wrong there on seed 1, which left only 5.5% of the chosen sentences wrong), so the
 * checks start at 2000 and come every 500 steps, up to a cap of 10000 (the current full study:
 * 2000, 10000, 2000, 2000 and 3500 steps for seeds 1-5; seed 2 reached the cap ungrounded).
 * That one run answered every yes/no probe alike, so small and full now train the curriculum of
 * {@link Reproduction} instead (sftColourSteps above 0): 8000 steps of the SFT data mixed with
 * colour questions, colour questions alone, then the SFT data until the validation descriptions
 * and POPE answers pass, at most sftLookupSteps (docs/RESULTS.md states which seeds got there).
 * {@code full} trains the same SFT model as {@code small} and spends its extra budget on more
 * pairs, longer preference runs, more held-out scenes and five seeds. {@code smoke} only proves
 * the pipeline runs: its SFT model is mostly wrong.
 *
 * <p>The LLaVA reads the vision tower's patch embeddings (vision layer -3 of its two layers), where a
 * cell's identity is linearly exact (0.85 at layer -2), at SFT lr 5e-4: the first setting under
 * which the SFT model read the objects' attributes, not only where they are (seed 1 of the small
 * world: 13.7% wrong sentences on validation scenes at 7000 steps; layer -2 at lr 1e-3 was still at
 * 78% at 5000, layer -3 at 1e-3 at 80% at 10000). Verified on one seed only.
 *
 * <p>CLIP learns one-fact sentences against their foils: 3000 steps at lr 3e-4 (5% warm-up) tell a
 * held-out fact from its foils with AUROC 0.85 (text alone 0.49), 1500 steps at 1e-3 only 0.73,
 * 600 at 3e-4 0.79, width 128 at 3e-4 0.87 but text alone 0.62 (seed 1 of the small world;
 * docs/RESULTS.md). Place foils stay at chance in all of them unless the vision tower's position
 * embeddings start large enough to matter: std 3 (HF's 0.02) brings place foils to 0.86.
 *
 * @param trainScenes   scenes of the training world (CLIP captions and SFT records come from them)
 * @param placeFirst    1: the SFT descriptions name each place before its object (two of the six templates)
 * @param sftProbes     yes/no probe pairs per training scene in the SFT data (a yes-probe per present
 *                      object, at most this many, and as many no-probes; SHAPES-balanced)
 * @param evalScenes    held-out scenes: descriptions, POPE probes, held-out preference pairs
 * @param valScenes     validation scenes, apart from both: the SFT length check and the preference runs'
 *                      held-out pairs (settings are chosen on them, never on the evaluation scenes)
 * @param clipSteps     contrastive CLIP steps (batch {@code clipBatch})
 * @param clipCaptions  one-fact caption records per training scene for CLIP (each scene's image, a true
 *                      sentence about one object or the count)
 * @param clipFoils     hard negatives per caption: the sentence with one attribute changed ({@code Foils})
 * @param clipLr        CLIP's peak learning rate (warm-up over the first 5% of its steps, then cosine)
 * @param clipWidth     CLIP's hidden and projection size (both towers)
 * @param clipLayers    layers of each CLIP tower
 * @param clipPositionStd std of the vision tower's initial position embeddings (0: HF's 0.02; {@link StudyModels#clip})
 * @param freezeVision  1: the LLaVA's vision tower stays as CLIP trained it (LLaVA-1.5); 0: SFT trains it too
 * @param visionLayer   the vision tower's layer LLaVA reads ({@code vision_feature_layer}: -1 last, -2 the one
 *                      before, LLaVA-1.5's choice: the last layer's patch outputs feed nothing in CLIP's loss)
 * @param decoderLayers layers of the LLaVA's Llama decoder
 * @param decoderWidth  the decoder's hidden size (heads of 32, SwiGLU 2.6875x, KV heads half the heads)
 * @param sftSteps      the most SFT steps of the LLaVA (batch {@code sftBatch})
 * @param sftMinSteps   SFT steps before the first check of the error rate; in the curriculum, the length of its
 *                      describing phase (8000 in small and full: on the mixed data, validation descriptions of
 *                      seeds 2 and 5 had 2-3% attribute errors there, against 16-17% at 4000)
 * @param sftCheckEvery steps between checks
 * @param sftTargetError SFT stops at the first check where at most this share of the model's
 *                      description sentences (on held-in scenes) is wrong; 0: no checks
 * @param sftTargetPopeF1 and (when above 0) at the first check where the model's POPE F1 on the validation
 *                      scenes' random split is at least this: the yes/no answers ground later than the descriptions
 * @param pairScenes    training scenes the SFT model answers on to make SeVa pairs
 * @param pairTemperature 0: the SeVa answers are greedy; above 0: sampled at this temperature; -1: chosen per seed on
 *                      the validation scenes, the lowest that leaves at least 15% of the chosen sentences wrong ({@link SevaPairs})
 * @param prefSteps     steps of each preference run (batch {@code prefBatch} pairs)
 * @param popeScenes    held-out scenes probed with POPE questions (per split)
 * @param nllSentenceWeights 1: the preference runs' NLL term (when the recipe has one) weighs each chosen token by
 *                      its sentence's ASPO weight ({@code nll_weighting: sentence}; DPO's is unchanged); 0: RPO's
 *                      uniform term. Absent from study folders made before it, which ran with 0
 * @param sftColourSteps 0: SFT is one run on the SFT data (checked from sftMinSteps every sftCheckEvery steps, up to
 *                      sftSteps); above 0: the curriculum {@link Reproduction} runs: the SFT data for sftMinSteps
 *                      steps, then colour questions alone ("Is there a red object in the image?") until 90% of
 *                      the validation scenes' are answered right (checked every sftCheckEvery steps), at most
 *                      this many steps (8000 in small and full: one describing model of seed 2 learned them at
 *                      about 6000; when they are not, the describing phase in another data order, up to
 *                      sftDescribeOrders, then colour questions from the untrained LLaVA, as long at most), then
 *                      the SFT data again for at most sftLookupSteps, checked every 1000
 * @param sftLookupSteps the curriculum's last phase, at most (it stops at the first check where the description
 *                      error is at most sftTargetError and the validation POPE F1 at least sftTargetPopeF1 with a
 *                      yes-ratio between 0.35 and 0.65)
 * @param sftColourMixed 1: the SFT data and the colour questions mixed, from the untrained LLaVA, where the SFT data
 *                      would be alone: the one run (sftColourSteps 0), or the curriculum's first sftMinSteps
 *                      steps, so that its describing model has learned the colour lookup too; 0: the SFT data alone
 * @param prefBetaHigh  above 0: the recipe search tries DPO's beta at this value too, beside the paper's 0.1
 *                      ({@link PreferenceRuns}): on three seeds' validation scenes the best candidate at 1.0
 *                      hallucinated less than the best at 0.1 (which on two of them hallucinated more than the
 *                      SFT model; docs/RESULTS.md, "DPO's beta"); 0: 0.1 only, as study folders made before it ran
 * @param sftDescribeOrders how many data orders the curriculum's describing phase is tried in (1-3; each with its
 *                      colour phase) before the colour questions fall back to the untrained LLaVA, whose descriptions
 *                      come back late or not at all; 1 in study folders made before it
 * @param evalSamples   descriptions of each evaluation scene sampled at the SeVa pairs' temperature, per method (0:
 *                      none): the greedy description of most grounded SFT models is nearly always right (CHAIR_i
 *                      0.3-1.0% on three of five seeds of the full study), so the sampled ones are where a
 *                      preference run's effect on wrong sentences can show ({@link ModelEvaluation#sample}). They
 *                      add files and change none, so older study folders take the built-in value
 */
public record StudyScale(String name, int trainScenes, int placeFirst, int sftProbes, int evalScenes, int valScenes, int clipSteps, int clipBatch, int clipCaptions,
                         int clipFoils, double clipLr, int clipWidth, int clipLayers, double clipPositionStd, int freezeVision, int visionLayer, int decoderLayers, int decoderWidth, int sftSteps,
                         int sftMinSteps, int sftCheckEvery, double sftTargetError, double sftTargetPopeF1, int sftBatch, double sftLr,
                         int pairScenes, double pairTemperature, int prefSteps, int prefBatch, double prefLr, int popeScenes,
                         int nllSentenceWeights, int sftColourSteps, int sftLookupSteps, int sftColourMixed, double prefBetaHigh,
                         int sftDescribeOrders, int evalSamples) {

    public StudyScale {
        if (nllSentenceWeights != 0 && nllSentenceWeights != 1) {
            throw new IllegalArgumentException("study setting nll_sentence_weights: " + nllSentenceWeights + " is not 0 or 1");
        }
        if (pairTemperature < 0 && pairTemperature != -1) {
            throw new IllegalArgumentException("study setting pair_temperature: " + pairTemperature + " is neither -1 (chosen on validation scenes) nor 0 or above");
        }
        if (sftColourMixed != 0 && sftColourMixed != 1) {
            throw new IllegalArgumentException("study setting sft_colour_mixed: " + sftColourMixed + " is not 0 or 1");
        }
        if (sftDescribeOrders < 1 || sftDescribeOrders > Reproduction.MAX_DESCRIBE_ORDERS) {
            throw new IllegalArgumentException("study setting sft_describe_orders: " + sftDescribeOrders + " is not between 1 and "
                    + Reproduction.MAX_DESCRIBE_ORDERS);
        }
        if (evalSamples < 0) throw new IllegalArgumentException("study setting eval_samples: " + evalSamples + " is negative");
        if (prefBetaHigh < 0) throw new IllegalArgumentException("study setting pref_beta_high: " + prefBetaHigh + " is negative");
        if (sftColourSteps < 0) throw new IllegalArgumentException("study setting sft_colour_steps: " + sftColourSteps + " is negative");
        if (sftColourSteps > 0 && sftLookupSteps < 1) {
            throw new IllegalArgumentException("study setting sft_lookup_steps: " + sftLookupSteps + " must be at least 1 when sft_colour_steps is above 0");
        }
    }

    /**
     * What a setting absent from an older study folder's {@code study.json} ran as: the code before
     * the setting existed behaved as this value, which may differ from today's built-in one.
     */
    static Object valueBefore(String key, Object builtIn) {
        return switch (key) {
            case "nll_sentence_weights", "sft_colour_steps", "sft_lookup_steps", "sft_colour_mixed" -> 0;
            case "pref_beta_high" -> 0.0;
            case "sft_describe_orders" -> 1;
            default -> builtIn;
        };
    }

    public static final StudyScale SMOKE = new StudyScale("smoke", 300, 0, 1, 32, 32, 150, 32, 2, 2, 1e-3, 64, 2, 3.0, 1, -3, 2, 128, 500, 500, 500, 0, 0, 16, 1e-3,
            64, -1, 12, 8, 2e-5, 16, 0, 100, 200, 1, 1.0, 1, 2);
    public static final StudyScale SMALL = new StudyScale("small", 3000, 0, 1, 200, 100, 6000, 32, 2, 2, 3e-4, 64, 2, 3.0, 1, -3, 2, 128, 10000, 8000, 500, 0.3,
            0.75, 16, 5e-4, 600, -1, 150, 8, 2e-5, 120, 0, 8000, 24000, 1, 1.0, 2, 4);
    public static final StudyScale FULL = new StudyScale("full", 3000, 0, 1, 300, 100, 6000, 32, 2, 2, 3e-4, 64, 2, 3.0, 1, -3, 2, 128, 10000, 8000, 500, 0.3,
            0.75, 16, 5e-4, 1000, -1, 250, 8, 2e-5, 200, 0, 8000, 24000, 1, 1.0, 2, 4);

    /** The scale called {@code name} (smoke, small or full). */
    public static StudyScale of(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "smoke" -> SMOKE;
            case "small" -> SMALL;
            case "full" -> FULL;
            default -> throw new IllegalArgumentException("unknown scale \"" + name + "\" (expected smoke, small or full)");
        };
    }

    /**
     * This scale with one setting changed, by its snake_case name ({@code sft_steps=6000}): for
     * choosing settings on validation scenes. The name stays, so a study folder records the change
     * in its {@code study.json} and refuses to continue under other settings.
     */
    public StudyScale with(String key, String value) {
        RecordComponent[] cs = StudyScale.class.getRecordComponents();
        Object[] args = new Object[cs.length];
        boolean found = false;
        try {
            for (int i = 0; i < cs.length; i++) {
                args[i] = cs[i].getAccessor().invoke(this);
                if (!snake(cs[i].getName()).equals(key) || cs[i].getName().equals("name")) continue;
                found = true;
                try {
                    args[i] = cs[i].getType() == int.class ? (Object) Integer.parseInt(value.strip()) : (Object) Double.parseDouble(value.strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("study setting " + key + ": \"" + value + "\" is not " + (cs[i].getType() == int.class ? "an integer" : "a number"));
                }
            }
            if (!found) throw new IllegalArgumentException("unknown study setting \"" + key + "\" (known: " + String.join(", ", keys()) + ")");
            return (StudyScale) StudyScale.class.getDeclaredConstructors()[0].newInstance(args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof IllegalArgumentException bad) throw bad;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every setting, by snake_case name (what {@link #with} takes and study.json records). */
    public Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            for (RecordComponent c : StudyScale.class.getRecordComponents()) m.put(snake(c.getName()), c.getAccessor().invoke(this));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return m;
    }

    private static List<String> keys() {
        List<String> k = new ArrayList<>();
        for (RecordComponent c : StudyScale.class.getRecordComponents()) if (!c.getName().equals("name")) k.add(snake(c.getName()));
        return k;
    }

    private static String snake(String camel) {
        return camel.replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
    }
}
