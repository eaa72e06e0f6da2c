package dev.aspo.tensor.ops;

import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Tensor;
import java.util.Arrays;

/**
 * Sums over token spans: {@code y[s] = sum of x[t] over the tokens t with segment[t] == s}, with
 * {@code -1} for tokens that belong to no segment. ASPO sums per-token log-ratios into
 * per-sentence scores this way. A segment with no tokens sums to 0. Backward
 * {@code dx[t] = dy[segment[t]]} (0 for skipped tokens).
 */
public final class SegmentSum {
    private SegmentSum() {}

    public static Tensor sum(Tensor x, int[] segment, int segments) {
        if (x.rank() != 1) {
            throw new IllegalArgumentException("segmentSum: x must be 1-D [tokens], got " + Arrays.toString(x.shape()));
        }
        int n = x.numel();
        if (segment.length != n) {
            throw new IllegalArgumentException("segmentSum: " + segment.length + " segment ids for x of shape ["
                    + n + "]");
        }
        if (segments < 0) throw new IllegalArgumentException("segmentSum: negative segment count " + segments);
        for (int t = 0; t < n; t++) {
            if (segment[t] < -1 || segment[t] >= segments) {
                throw new IllegalArgumentException("segmentSum: segment id " + segment[t] + " of token " + t
                        + " is out of range [0, " + segments + ") (-1 skips a token)");
            }
        }
        int[] seg = segment.clone();   // the backward reads it later
        Backend be = x.backend();
        Tensor out = Tensor.zeros(be, segments);
        be.segmentSum(x.storage(), seg, out.storage(), n, segments);
        if (!Autograd.isRecording(x)) return out;

        return Autograd.record(out, "segmentSum",
                () -> be.segmentSumBackward(out.gradBuffer(), seg, x.gradBuffer(), n), x);
    }
}
