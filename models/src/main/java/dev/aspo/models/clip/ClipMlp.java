package dev.aspo.models.clip;

import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import java.util.Random;

/** HF {@code CLIPMLP}: {@code fc2(act(fc1(x)))}. */
public final class ClipMlp extends Module {
    public final Linear fc1, fc2;
    public final ClipActivation act;

    public ClipMlp(int hidden, int intermediate, ClipActivation act) {
        this.act = act;
        this.fc1 = child("fc1", new Linear(hidden, intermediate, true));
        this.fc2 = child("fc2", new Linear(intermediate, hidden, true));
    }

    public Tensor forward(Tensor x) {
        return fc2.forward(act.apply(fc1.forward(x)));
    }

    /** HF's stds: fc1 {@code (2C)^-0.5 f}, fc2 {@code C^-0.5 (2L)^-0.5 f}; biases 0. */
    void init(Random rng, int hidden, int layers, double factor) {
        ClipInit.normal(fc1.weight, rng, Math.pow(2.0 * hidden, -0.5) * factor);
        ClipInit.normal(fc2.weight, rng, Math.pow(hidden, -0.5) * Math.pow(2.0 * layers, -0.5) * factor);
        ClipInit.constant(fc1.bias, 0f);
        ClipInit.constant(fc2.bias, 0f);
    }
}
