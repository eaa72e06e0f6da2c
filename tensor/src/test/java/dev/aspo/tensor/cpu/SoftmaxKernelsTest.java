package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.ElementwiseKernelsTest.assertNear;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Wide odd rows (a 32000-word vocabulary and then some) against double-precision loops. */
class SoftmaxKernelsTest {
    private static final int ROWS = 9, COLS = 32_003;
    private final Random rng = new Random(29);

    private float[] gaussian(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rng.nextGaussian() * std);
        return v;
    }

    private static double[] logSumExp(float[] x, int rows, int cols) {
        double[] lse = new double[rows];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
            lse[r] = max + Math.log(sum);
        }
        return lse;
    }

    @Test
    void softmaxAndLogSoftmaxForwardAndBackward() {
        for (int cols : new int[] {COLS, 7, 16, 33}) {
            int rows = cols == COLS ? ROWS : 41, n = rows * cols;
            float[] x = gaussian(n, 3);
            // a row far from zero: max subtraction keeps it finite
            for (int c = 0; c < cols; c++) x[c] += 1e4f;
            double[] lse = logSumExp(x, rows, cols);
            float[] gy = gaussian(n, 1);
            for (boolean log : new boolean[] {false, true}) {
                float[] y = new float[n], gx0 = gaussian(n, 1), gx = gx0.clone();
                SoftmaxKernels.softmax(x, y, rows, cols, log);
                SoftmaxKernels.softmaxBackward(y, gy, gx, rows, cols, log);
                double[] ye = new double[n], ge = new double[n];
                for (int r = 0; r < rows; r++) {
                    double dot = 0, sum = 0;
                    for (int c = 0; c < cols; c++) {
                        double p = Math.exp(x[r * cols + c] - lse[r]);
                        dot += gy[r * cols + c] * p;
                        sum += gy[r * cols + c];
                    }
                    for (int c = 0; c < cols; c++) {
                        int i = r * cols + c;
                        double p = Math.exp(x[i] - lse[r]);
                        ye[i] = log ? x[i] - lse[r] : p;
                        ge[i] = gx0[i] + (log ? gy[i] - p * sum : p * (gy[i] - dot));
                    }
                }
                String what = (log ? "logSoftmax" : "softmax") + " cols=" + cols;
                assertNear(what, ye, y, 1e-5, log ? 1e-5 : 1e-9);
                assertNear(what + " backward", ge, gx, 1e-5, 1e-5);
            }
        }
    }

    @Test
    void crossEntropyForwardAndBackward() {
        for (int cols : new int[] {COLS, 7, 33}) {
            int rows = cols == COLS ? ROWS : 41, n = rows * cols;
            float[] x = gaussian(n, 3);
            int[] target = new int[rows];
            for (int r = 0; r < rows; r++) target[r] = r % 4 == 1 ? -100 : rng.nextInt(cols);
            target[rows - 1] = cols - 1;
            float[] loss = new float[rows], lse = new float[rows];
            SoftmaxKernels.crossEntropy(x, target, loss, lse, rows, cols);
            double[] lseE = logSumExp(x, rows, cols), lossE = new double[rows];
            for (int r = 0; r < rows; r++) {
                if (target[r] < 0) {
                    lseE[r] = 0;
                    continue;
                }
                lossE[r] = lseE[r] - x[r * cols + target[r]];
            }
            assertNear("crossEntropy loss cols=" + cols, lossE, loss, 1e-6, 1e-5);
            assertNear("crossEntropy lse cols=" + cols, lseE, lse, 1e-6, 1e-5);

            float[] gloss = gaussian(rows, 1), gx0 = gaussian(n, 1), gx = gx0.clone();
            SoftmaxKernels.crossEntropyBackward(x, target, lse, gloss, gx, rows, cols);
            double[] ge = new double[n];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int i = r * cols + c;
                    ge[i] = gx0[i];
                    if (target[r] >= 0) ge[i] += gloss[r] * (Math.exp(x[i] - lseE[r]) - (c == target[r] ? 1 : 0));
                }
            }
            assertNear("crossEntropy backward cols=" + cols, ge, gx, 1e-5, 1e-6);
        }
    }

    @Test
    void ignoredRowsCostNothing() {
        float[] x = {1, 2, 3, 4, 5, 6}, loss = {9, 9}, lse = {9, 9}, gx = new float[6];
        SoftmaxKernels.crossEntropy(x, new int[] {-100, 2}, loss, lse, 2, 3);
        assertEquals(0f, loss[0]);
        assertEquals(0f, lse[0]);
        SoftmaxKernels.crossEntropyBackward(x, new int[] {-100, 2}, lse, new float[] {1, 1}, gx, 2, 3);
        assertEquals(0f, gx[0]);
        assertEquals(0f, gx[2]);
        assertTrue(gx[3] > 0 && gx[5] < 0);
    }

    @Test
    void outOfRangeTargetNamesTheRow() {
        var e = assertThrows(IllegalArgumentException.class, () -> SoftmaxKernels.crossEntropy(new float[12],
                new int[] {0, 1, -100, 4}, new float[4], new float[4], 4, 3));
        assertTrue(e.getMessage().contains("target 4 at row 3 is out of range for 3 classes"), e.getMessage());
    }
}
