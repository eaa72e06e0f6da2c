package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What the trainers need of a causal language model: next-token logits for a padded batch, its
 * parameters, and HF-layout checkpoints. {@link LlamaPolicy} adapts a text-only Llama; a LLaVA
 * adapter passes the batch's images as pixel values.
 */
public interface PolicyModel {
    /** Logits {@code [B, T, V]} for the batch (padding masked with {@code batch.attentionMask}). */
    Tensor logits(Batch batch);

    /**
     * The host arrays {@link #logits} hands to the backend for {@code batch}, as they are: the
     * inputs of a training step recorded as an OpenCL task graph. A text model's are the ids and
     * the mask; a vision-language model adds its pixels.
     */
    default Object[] deviceInputs(Batch batch) {
        return new Object[] {batch.ids, batch.attentionMask};
    }

    /** The parameter tree (optimised, saved, copied). */
    Module module();

    /** Writes the model in HF layout ({@code config.json}, {@code model.safetensors}) into {@code dir}. */
    default void save(Path dir) throws IOException {
        save(dir, ShardSize.UNLIMITED);
    }

    /**
     * As {@link #save(Path)}, with the weights in shards of at most {@code maxShardBytes} plus
     * {@code model.safetensors.index.json} when they exceed it.
     */
    void save(Path dir, long maxShardBytes) throws IOException;

    /** A separate model with the same weights (the frozen reference). */
    PolicyModel copy();

    /** The id that pads a batch (any valid id: padded positions are masked). */
    int padId();

    /** The end-of-sequence id appended to every response. */
    int eosId();

    /**
     * The prompt text to tokenise for a record with {@code images} images: as given for a
     * text-only model; a vision-language model puts its image tokens in (see {@link LlavaPolicy}).
     */
    default String promptText(String prompt, int images) {
        return prompt;
    }

    /**
     * Activation checkpointing ({@code gradient_checkpointing}): every decoder layer, and a vision
     * tower's encoder layers, keep only their input and run again in the backward; the gradients
     * are the same to the last bit. Not supported by default.
     */
    default void setGradientCheckpointing(boolean on) {
        if (on) throw new UnsupportedOperationException("gradient_checkpointing is not supported by " + getClass().getSimpleName());
    }

    /** Copies every parameter of {@code other} (same architecture) into this model. */
    default void loadWeightsFrom(Module other) {
        for (var e : other.namedParameters().entrySet()) module().copyFrom(e.getKey(), e.getValue());
    }
}
