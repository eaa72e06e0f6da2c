package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A policy run that trains LoRA adapters ({@link LoraSettings}) instead of the model: the adapters
 * are put on the policy ({@link LoraModel#inject}, seeded by the run's {@code seed}) or read from
 * {@code lora.adapter}, the base model is frozen, and
 * <ul>
 *   <li>only the adapters train and only they have AdamW moments ({@link #trainable});</li>
 *   <li>the DPO/ASPO reference is the base model: the policy with its adapters off
 *       ({@link #reference}; a cached reference's key hashes the base weights, which is what the
 *       log-probs depend on);</li>
 *   <li>a checkpoint holds the adapter as PEFT saves it ({@code adapter_config.json},
 *       {@code adapter_model.safetensors}) beside the optimiser and trainer state, and resuming
 *       reads it back into the same tensors ({@link #weights});</li>
 *   <li>dropout masks of step {@code s} come from a generator seeded by {@code (seed, s)}
 *       ({@link #train}), so a resumed run draws what the uninterrupted one drew; evaluation has no
 *       dropout ({@link #eval}).</li>
 * </ul>
 */
final class LoraTraining {
    private final LoraSettings settings;
    private final PolicyModel policy;
    private final long seed;
    private LoraModel lora;
    /** The step whose dropout masks are being drawn (-1: evaluation mode). */
    private long drawing = -1;

    LoraTraining(LoraSettings settings, PolicyModel policy, long seed) {
        this.settings = settings;
        this.policy = policy;
        this.seed = seed;
    }

    /**
     * Puts the adapters on the policy: new ones as the settings say, or {@code lora.adapter}'s.
     * A target that is no linear layer of the model, or an adapter that does not fit it, is one
     * error naming the key or the file.
     */
    void attach() throws IOException {
        if (lora != null) return;
        Module base = policy.module();
        try {
            lora = settings.adapter() != null ? LoraModel.load(base, settings.adapter()) : LoraModel.inject(base, settings.config(), seed);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage().replaceFirst("^LoRA: ", "");
            throw new IllegalArgumentException(m.startsWith("target_modules") ? "lora." + m : "lora: " + m, e);
        }
    }

    /** The adapters (after {@link #attach}). */
    LoraModel model() {
        return lora;
    }

    /** Whether the adapters apply dropout while training. */
    boolean dropout() {
        return lora.config().loraDropout() > 0;
    }

    /** The adapters' parameters under PEFT's names: what AdamW holds. */
    Map<String, Tensor> trainable() {
        return lora.trainableParameters();
    }

    /**
     * Training mode for a micro-batch of step {@code step}: the first one of a step starts the
     * step's dropout stream ({@link #dropoutSeed}), the others go on drawing from it.
     */
    void train(long step) {
        if (step == drawing) return;
        lora.train(dropoutSeed(step));
        drawing = step;
    }

    /** Evaluation mode: no dropout. */
    void eval() {
        lora.eval();
        drawing = -1;
    }

    /** The seed of step {@code step}'s dropout masks: a function of the run's seed and the step only. */
    long dropoutSeed(long step) {
        return seed * 0x9E3779B97F4A7C15L + step;
    }

    /** The checkpoint's model part: the adapter in PEFT's files, read back into the same tensors on resume. */
    Checkpoints.Weights weights() {
        return new Checkpoints.Weights() {
            @Override
            public void save(Path dir) throws IOException {
                lora.save(dir);
            }

            @Override
            public void load(Path checkpoint) throws IOException {
                lora.loadWeights(checkpoint);
            }
        };
    }

    /** The base model, for DPO's and ASPO's reference: the policy computing with its adapters off. */
    PolicyModel reference() {
        return new PolicyModel() {
            @Override
            public Tensor logits(Batch batch) {
                try (var off = lora.disabled()) {
                    return policy.logits(batch);
                }
            }

            @Override
            public Object[] deviceInputs(Batch batch) {
                return policy.deviceInputs(batch);
            }

            /** The base model's parameters (the adapters are not among them): what a cached reference's key hashes. */
            @Override
            public Module module() {
                return policy.module();
            }

            @Override
            public void save(Path dir, long maxShardBytes) {
                throw new UnsupportedOperationException("the reference of a LoRA run is the policy's base model; it is not saved");
            }

            @Override
            public PolicyModel copy() {
                throw new UnsupportedOperationException("the reference of a LoRA run is the policy's base model; it is not copied");
            }

            @Override
            public int padId() {
                return policy.padId();
            }

            @Override
            public int eosId() {
                return policy.eosId();
            }

            @Override
            public String promptText(String prompt, int images) {
                return policy.promptText(prompt, images);
            }
        };
    }
}
