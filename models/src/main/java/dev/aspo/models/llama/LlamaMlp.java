package dev.aspo.models.llama;

import dev.aspo.models.nn.Linear;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Unary;

/**
 * Llama's SwiGLU feed-forward block (HF {@code LlamaMLP}):
 *
 * <pre>
 *   x [.., C] --gate_proj--> g [.., F] --silu--\
 *             --up_proj----> u [.., F] --------(*)--> [.., F] --down_proj--> [.., C]
 * </pre>
 */
public final class LlamaMlp extends Module {
    public final Linear gateProj, upProj, downProj;

    public LlamaMlp(LlamaConfig c) {
        gateProj = child("gate_proj", new Linear(c.hiddenSize, c.intermediateSize, c.mlpBias));
        upProj = child("up_proj", new Linear(c.hiddenSize, c.intermediateSize, c.mlpBias));
        downProj = child("down_proj", new Linear(c.intermediateSize, c.hiddenSize, c.mlpBias));
    }

    public Tensor forward(Tensor x) {
        return downProj.forward(Arithmetic.mul(Unary.silu(gateProj.forward(x)), upProj.forward(x)));
    }
}
