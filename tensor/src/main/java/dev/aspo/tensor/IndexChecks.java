package dev.aspo.tensor;

/**
 * The checks of the integer arrays that index into tensors (segment ids, class targets, row
 * indices), shared by every backend: each backend runs them before it dispatches a kernel, and the
 * OpenCL backend again on the new values of a task-graph replay. One copy, so both backends reject
 * the same input with the same message.
 */
public final class IndexChecks {
    private IndexChecks() {}

    /** Every id of the first {@code n} is -1 (skip) or a segment in {@code [0, segments)}. */
    public static void segments(int[] segment, int n, int segments, String what) {
        if (segment.length < n) {
            throw new IllegalArgumentException(what + ": " + segment.length + " segment ids for " + n + " tokens");
        }
        for (int t = 0; t < n; t++) {
            int s = segment[t];
            if (s < -1 || s >= segments) {
                throw new IllegalArgumentException(what + ": segment id " + s + " of token " + t + " is out of range [0, "
                        + segments + ") (-1 skips a token)");
            }
        }
    }

    /** Cross-entropy targets: class indices below {@code cols}, or negative for an ignored row. */
    public static void targets(int[] target, int rows, int cols) {
        if (target.length < rows) {
            throw new IllegalArgumentException("crossEntropy: " + target.length + " targets for " + rows + " rows");
        }
        for (int r = 0; r < rows; r++) {
            if (target[r] >= cols) {
                throw new IllegalArgumentException("crossEntropy: target " + target[r] + " at row " + r
                        + " is out of range for " + cols + " classes (a negative target ignores the row)");
            }
        }
    }

    /** The first {@code n} row indices lie in {@code [0, rows)}. */
    public static void rows(int[] index, int n, int rows, String what) {
        for (int i = 0; i < n; i++) {
            if (index[i] < 0 || index[i] >= rows) {
                throw new IllegalArgumentException(what + ": index " + index[i] + " at position " + i
                        + " is out of range [0, " + rows + ")");
            }
        }
    }
}
