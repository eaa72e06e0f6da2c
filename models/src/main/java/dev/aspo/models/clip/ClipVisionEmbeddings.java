package dev.aspo.models.clip;

import static dev.aspo.tensor.ops.Arithmetic.add;

import dev.aspo.models.nn.Embedding;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Shapes;
import java.util.Arrays;
import java.util.Random;

/**
 * HF {@code CLIPVisionEmbeddings}: the patch convolution, the class token and learned positions.
 *
 * <p>The convolution ({@code patch_embedding.weight [C, ch, p, p]}, stride p, no bias) is a
 * patch extraction and one matmul, which gives the gradient of the weight for free:
 * <pre>
 *   pixels [B, ch, g*p, g*p] -view-> [B, ch, g, p, g, p] -permute(0,2,4,1,3,5)-> [B, g, g, ch, p, p]
 *          -view-> patches [B, g*g, ch*p*p] @ weight[C, ch*p*p]^T --> [B, N, C]
 *   concat(class_embedding, .) [B, N+1, C] + position_embedding(0..N) [N+1, C]
 * </pre>
 */
public final class ClipVisionEmbeddings extends Module {
    public final Tensor classEmbedding;
    public final Tensor patchWeight;
    public final Embedding positionEmbedding;
    private final ClipVisionConfig config;

    public ClipVisionEmbeddings(ClipVisionConfig config) {
        this.config = config;
        int c = config.hiddenSize(), p = config.patchSize();
        this.classEmbedding = parameter("class_embedding", c);
        this.patchWeight = parameter("patch_embedding.weight", c, config.numChannels(), p, p);
        this.positionEmbedding = child("position_embedding", new Embedding(config.numPatches() + 1, c));
    }

    /** {@code pixelValues [B, ch, image_size, image_size]} to {@code [B, 1 + N, C]}. */
    public Tensor forward(Tensor pixelValues) {
        int[] s = pixelValues.shape();
        int size = config.imageSize(), ch = config.numChannels(), p = config.patchSize(), g = config.gridSize();
        if (s.length != 4 || s[1] != ch || s[2] != size || s[3] != size) {
            throw new IllegalArgumentException("CLIP vision: pixel_values must be [B, " + ch + ", " + size + ", " + size
                    + "], got " + Arrays.toString(s));
        }
        int b = s[0], c = config.hiddenSize();
        Tensor x = pixelValues;
        if (g * p != size) {        // the strided convolution ignores the last size % p rows and columns
            x = Shapes.slice(Shapes.slice(x, 2, 0, g * p), 3, 0, g * p);
        }
        Tensor patches = Shapes.permute(x.reshape(b, ch, g, p, g, p), 0, 2, 4, 1, 3, 5).reshape(b, g * g, ch * p * p);
        Tensor patchEmbeds = MatMul.matmul(patches, patchWeight.reshape(c, ch * p * p), false, true);
        Tensor cls = add(Tensor.zeros(pixelValues.backend(), b, 1, c), classEmbedding.reshape(1, 1, c));
        // every position's row, looked up as HF's position_ids are (a lookup also reads a frozen 16-bit table)
        int[] positions = new int[g * g + 1];
        for (int i = 0; i < positions.length; i++) positions[i] = i;
        return add(Shapes.concat(1, cls, patchEmbeds), positionEmbedding.forward(positions, positions.length));
    }

    /** HF's stds: class token {@code C^-0.5 f}, patch and position weights {@code initializer_range f}. */
    void init(Random rng, double factor) {
        ClipInit.normal(classEmbedding, rng, Math.pow(config.hiddenSize(), -0.5) * factor);
        ClipInit.normal(patchWeight, rng, config.initializerRange() * factor);
        ClipInit.normal(positionEmbedding.weight, rng, config.initializerRange() * factor);
    }
}
