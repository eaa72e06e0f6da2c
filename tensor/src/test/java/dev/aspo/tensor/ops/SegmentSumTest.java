package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static dev.aspo.tensor.GradCheck.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SegmentSumTest {
    private final Random rng = new Random(17);

    static double[] reference(double[] x, int[] segment, int segments) {
        double[] y = new double[segments];
        for (int t = 0; t < x.length; t++) if (segment[t] >= 0) y[segment[t]] += x[t];
        return y;
    }

    @Test
    void spansWithSkippedTokensAndEmptySegments() {
        // segments 1 and 4 are empty; -1 tokens (prompt, padding) belong to none; spans need not be contiguous
        int[] segment = {-1, -1, 0, 0, 0, 2, 2, -1, 3, 3, 3, 3, 0, -1, 5};
        Tensor x = param(rng, segment.length);
        check("segmentSum", in -> SegmentSum.sum(in[0], segment, 6), v -> reference(v[0], segment, 6), x);
        Tensor y = SegmentSum.sum(x, segment, 6);
        assertArrayEquals(new int[] {6}, y.shape());
        float[] v = y.toFloatArray();
        assertTrue(v[1] == 0 && v[4] == 0);
    }

    @Test
    void randomAssignment() {
        int n = 101, segments = 9;
        int[] segment = new int[n];
        for (int t = 0; t < n; t++) segment[t] = rng.nextInt(segments + 1) - 1;
        Tensor x = param(rng, n);
        check("segmentSum random", in -> SegmentSum.sum(in[0], segment, segments), v -> reference(v[0], segment, segments), x);
    }

    @Test
    void badIdsAndShapes() {
        Tensor x = Tensor.zeros(4);
        var e = assertThrows(IllegalArgumentException.class, () -> SegmentSum.sum(x, new int[] {0, 1, 3, -1}, 3));
        assertTrue(e.getMessage().contains("segment id 3 of token 2 is out of range [0, 3)"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> SegmentSum.sum(x, new int[] {0, -2, 0, 0}, 3));
        assertTrue(e2.getMessage().contains("segment id -2 of token 1"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> SegmentSum.sum(x, new int[] {0, 0}, 3));
        assertTrue(e3.getMessage().contains("2 segment ids for x of shape [4]"), e3.getMessage());
        var e4 = assertThrows(IllegalArgumentException.class, () -> SegmentSum.sum(Tensor.zeros(2, 2), new int[4], 1));
        assertTrue(e4.getMessage().contains("x must be 1-D"), e4.getMessage());
    }
}
