package dev.aspo.tensor.ops;

import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Token embedding: rows of a {@code [V, D]} table picked by token ids. The gradient scatter-adds
 * into the table (a repeated id collects the gradient of every occurrence).
 */
public final class Embedding {
    private Embedding() {}

    /**
     * {@code weight [V, D]}, {@code ids} laid out as {@code idsShape} (row-major; empty means
     * {@code [ids.length]}) gives {@code [...idsShape, D]}.
     */
    public static Tensor lookup(Tensor weight, int[] ids, int... idsShape) {
        return lookup(weight, ids, idsShape, -1);
    }

    /**
     * {@link #lookup} as torch's {@code nn.Embedding(padding_idx=paddingIdx)}: the positions that
     * hold {@code paddingIdx} send no gradient into the table (-1: every position does). The ids
     * reach the backend as they are, so a recorded step can take new ones.
     */
    public static Tensor lookup(Tensor weight, int[] ids, int[] idsShape, int paddingIdx) {
        if (weight.rank() != 2) {
            throw new IllegalArgumentException("embedding: weight must be [V, D], got " + Arrays.toString(weight.shape()));
        }
        int[] shape = idsShape.length == 0 ? new int[] {ids.length} : idsShape;
        if (Tensor.numel(shape) != ids.length) {
            throw new IllegalArgumentException("embedding: idsShape " + Arrays.toString(shape) + " holds "
                    + Tensor.numel(shape) + " ids but " + ids.length + " were given");
        }
        Tensor rows = Index.selectRows(weight, ids, paddingIdx, "embedding: token id", "vocabulary size");
        int[] outShape = Arrays.copyOf(shape, shape.length + 1);
        outShape[shape.length] = weight.size(1);
        return rows.reshape(outShape);
    }
}
