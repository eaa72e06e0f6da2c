package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Index-select along the first axis; its gradient is a scatter-add (indices may repeat). The table
 * may be a frozen weight held in 16 bits (an embedding in bfloat16): its rows are widened as they
 * are copied.
 */
public final class Index {
    private Index() {}

    /** {@code x [N, ...]} and {@code rows} in {@code [0, N)} give {@code [rows.length, ...]}. */
    public static Tensor selectRows(Tensor x, int[] rows) {
        return selectRows(x, rows, -1, "selectRows: row index", "N = x.size(0)");
    }

    /** {@link #selectRows}, with no gradient from the positions that select row {@code skip} (-1: none). */
    static Tensor selectRows(Tensor x, int[] rows, int skip, String what, String limitName) {
        if (x.rank() < 1) throw new IllegalArgumentException("selectRows: x needs at least one axis, got a scalar shape");
        int n = x.size(0);
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] < 0 || rows[i] >= n) {
                throw new IllegalArgumentException(what + " " + rows[i] + " at position " + i + " is outside [0, " + n
                        + ") (" + limitName + ", x has shape " + Arrays.toString(x.shape()) + ")");
            }
        }
        int[] index = rows.clone();
        int cols = n == 0 ? 0 : x.numel() / n;
        int[] outShape = x.shape();
        outShape[0] = index.length;

        Backend be = x.backend();
        Tensor out = Tensor.unfilled(be, outShape);
        be.gatherRows(x.storageOfAnyPrecision(), index, out.storage(), cols);   // a 16-bit table is widened
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "selectRows", () -> be.scatterAddRows(out.gradBuffer(), index, x.gradBuffer(), cols, skip),
                x);
    }
}
