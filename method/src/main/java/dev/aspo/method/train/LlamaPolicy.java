package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;

/** A text-only Llama as a {@link PolicyModel} (images of a record are ignored). */
public final class LlamaPolicy implements PolicyModel {
    private final LlamaForCausalLM model;

    public LlamaPolicy(LlamaForCausalLM model) {
        this.model = model;
    }

    public static LlamaPolicy load(Path dir) throws IOException {
        return new LlamaPolicy(LlamaForCausalLM.load(dir));
    }

    public LlamaForCausalLM model() {
        return model;
    }

    @Override
    public Tensor logits(Batch batch) {
        return model.forward(batch.ids, batch.batch, batch.seq, batch.attentionMask);
    }

    @Override
    public void setGradientCheckpointing(boolean on) {
        model.setGradientCheckpointing(on);
    }

    @Override
    public Module module() {
        return model;
    }

    @Override
    public void save(Path dir, long maxShardBytes) throws IOException {
        model.save(dir, maxShardBytes);
    }

    @Override
    public PolicyModel copy() {
        LlamaPolicy c = new LlamaPolicy(new LlamaForCausalLM(model.config));
        c.loadWeightsFrom(model);
        return c;
    }

    @Override
    public int padId() {
        Integer pad = model.config.padTokenId;
        return pad != null ? pad : model.config.eosTokenIds()[0];
    }

    @Override
    public int eosId() {
        return model.config.eosTokenIds()[0];
    }
}
