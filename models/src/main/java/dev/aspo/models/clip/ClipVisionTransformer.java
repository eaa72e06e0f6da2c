package dev.aspo.models.clip;

import dev.aspo.models.nn.LayerNorm;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Checkpoint;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Shapes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The CLIP ViT (HF {@code CLIPVisionModel}'s body; {@code vision_model.*} in a {@code clip}
 * checkpoint), parameters named as HF names them below that prefix:
 * <pre>
 *   pixels --embeddings--> pre_layrnorm --> h0 --layer 0--> h1 ... --layer L-1--> hL = last_hidden_state
 *                                                                   hL[:, 0] --post_layernorm--> pooler_output
 * </pre>
 * HF's {@code hidden_states} tuple is {@code (h0, h1, ..., hL)}; LLaVA picks one of them
 * ({@code vision_feature_layer}, usually -2) with {@link #hiddenState}.
 */
public final class ClipVisionTransformer extends Module {
    public final ClipVisionEmbeddings embeddings;
    public final LayerNorm preLayrnorm;
    public final List<ClipEncoderLayer> layers;
    public final LayerNorm postLayernorm;
    private final ClipVisionConfig config;
    private boolean gradientCheckpointing;

    public ClipVisionTransformer(ClipVisionConfig config) {
        this.config = config;
        float eps = (float) config.layerNormEps();
        this.embeddings = child("embeddings", new ClipVisionEmbeddings(config));
        this.preLayrnorm = child("pre_layrnorm", new LayerNorm(config.hiddenSize(), eps));
        List<ClipEncoderLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            ls.add(child("encoder.layers." + i, new ClipEncoderLayer(config.hiddenSize(), config.intermediateSize(),
                    config.numAttentionHeads(), config.hiddenAct(), eps)));
        }
        this.layers = Collections.unmodifiableList(ls);
        this.postLayernorm = child("post_layernorm", new LayerNorm(config.hiddenSize(), eps));
    }

    public ClipVisionConfig config() {
        return config;
    }

    /** {@code h0}: the embeddings after {@code pre_layrnorm}, {@code [B, 1 + N, C]}. */
    public Tensor embed(Tensor pixelValues) {
        return preLayrnorm.forward(embeddings.forward(pixelValues));
    }

    /** HF's {@code hidden_states}: {@code L + 1} tensors {@code [B, 1 + N, C]} ({@code h0 .. hL}). */
    public List<Tensor> hiddenStates(Tensor pixelValues) {
        List<Tensor> out = new ArrayList<>(layers.size() + 1);
        Tensor h = embed(pixelValues);
        out.add(h);
        for (int l = 0; l < layers.size(); l++) {
            h = layer(l, h);
            out.add(h);
        }
        return out;
    }

    /**
     * {@code hidden_states[index]} as Python indexes it ({@code -1} is the last layer's output,
     * {@code -2} the one before, {@code 0} the embeddings), running only the layers it needs.
     */
    public Tensor hiddenState(Tensor pixelValues, int index) {
        int n = layers.size() + 1, i = index < 0 ? index + n : index;
        if (i < 0 || i >= n) {
            throw new IllegalArgumentException("CLIP vision: hidden state index " + index + " is outside [-" + n + ", " + n
                    + ") for " + layers.size() + " layers");
        }
        Tensor h = embed(pixelValues);
        for (int l = 0; l < i; l++) h = layer(l, h);
        return h;
    }

    /**
     * {@code h_{l+1}} of {@code h_l}: encoder layer {@code l}, checkpointed when
     * {@link #setGradientCheckpointing} is on.
     */
    public Tensor layer(int l, Tensor h) {
        ClipEncoderLayer layer = layers.get(l);
        if (!gradientCheckpointing) return layer.forward(h, false, null);
        return Checkpoint.apply("encoder.layers." + l, in -> layer.forward(in[0], false, null), h);
    }

    /**
     * Activation checkpointing: when on, a forward with gradients keeps only each encoder layer's
     * input and runs the layer again in the backward ({@link Checkpoint}); the gradients are the
     * same to the last bit.
     */
    public void setGradientCheckpointing(boolean on) {
        gradientCheckpointing = on;
    }

    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /** {@code last_hidden_state}, {@code pooler_output} and every hidden state. */
    public ClipVisionOutput forward(Tensor pixelValues) {
        List<Tensor> hs = hiddenStates(pixelValues);
        Tensor last = hs.get(hs.size() - 1);
        return new ClipVisionOutput(last, pool(last), Collections.unmodifiableList(hs));
    }

    /** {@code pooler_output [B, C]}. */
    public Tensor pooled(Tensor pixelValues) {
        return pool(hiddenState(pixelValues, -1));
    }

    /** {@code post_layernorm(lastHiddenState[:, 0, :])}. */
    public Tensor pool(Tensor lastHiddenState) {
        int b = lastHiddenState.size(0), c = lastHiddenState.size(2);
        return postLayernorm.forward(Shapes.slice(lastHiddenState, 1, 0, 1).reshape(b, c));
    }

    /**
     * HF's random initialisation ({@code CLIPPreTrainedModel._init_weights}'s distributions, drawn
     * from {@code rng}); {@code factor} is {@code initializer_factor}.
     */
    public void initWeights(Random rng, double factor) {
        embeddings.init(rng, factor);
        ClipInit.constant(preLayrnorm.weight, 1f);
        ClipInit.constant(preLayrnorm.bias, 0f);
        for (ClipEncoderLayer l : layers) l.init(rng, config.hiddenSize(), config.numHiddenLayers(), factor);
        ClipInit.constant(postLayernorm.weight, 1f);
        ClipInit.constant(postLayernorm.bias, 0f);
    }
}
