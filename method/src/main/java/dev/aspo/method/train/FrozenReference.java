package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.tensor.Autograd;

/** A frozen copy of the model, run without gradients on every batch. */
public final class FrozenReference implements Reference {
    private final PolicyModel model;

    public FrozenReference(PolicyModel model) {
        this.model = model;
    }

    @Override
    public float[] logps(Batch batch, int[] keys) {
        try (var g = Autograd.noGrad()) {
            return TokenLogProbs.of(model.logits(batch), batch.targets).toFloatArray();
        }
    }
}
