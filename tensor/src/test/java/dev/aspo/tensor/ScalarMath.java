package dev.aspo.tensor;

import dev.aspo.tensor.cpu.Erf;

/**
 * Plain double-precision definitions of the elementwise functions and their derivatives, written
 * from the formulas (not from the kernels): the references the op and kernel tests compare to.
 */
public final class ScalarMath {
    private ScalarMath() {}

    public static double f(UnaryOp op, double x) {
        switch (op) {
            case NEG: return -x;
            case EXP: return Math.exp(x);
            case LOG: return Math.log(x);
            case SQRT: return Math.sqrt(x);
            case RSQRT: return 1 / Math.sqrt(x);
            case SQUARE: return x * x;
            case TANH: return Math.tanh(x);
            case SIGMOID: return sigmoid(x);
            case SOFTPLUS: return x > 30 ? x : Math.log(1 + Math.exp(x));
            case RELU: return x > 0 ? x : 0;
            case GELU: return x * 0.5 * (1 + Erf.erf(x / Math.sqrt(2)));
            case GELU_TANH: return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case QUICK_GELU: return x * sigmoid(1.702 * x);
            case SILU: return x * sigmoid(x);
            default: throw new AssertionError(op);
        }
    }

    /** f'(x), derived by hand from {@link #f}. */
    public static double df(UnaryOp op, double x) {
        switch (op) {
            case NEG: return -1;
            case EXP: return Math.exp(x);
            case LOG: return 1 / x;
            case SQRT: return 0.5 / Math.sqrt(x);
            case RSQRT: return -0.5 * Math.pow(x, -1.5);
            case SQUARE: return 2 * x;
            case TANH: return 1 - Math.tanh(x) * Math.tanh(x);
            case SIGMOID: return sigmoid(x) * (1 - sigmoid(x));
            case SOFTPLUS: return sigmoid(x);
            case RELU: return x > 0 ? 1 : 0;
            case GELU: return 0.5 * (1 + Erf.erf(x / Math.sqrt(2))) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
            case GELU_TANH: {
                double k = Math.sqrt(2 / Math.PI), t = Math.tanh(k * (x + 0.044715 * x * x * x));
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
            }
            case QUICK_GELU: {
                double s = sigmoid(1.702 * x);
                return s + 1.702 * x * s * (1 - s);
            }
            case SILU: return sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x));
            default: throw new AssertionError(op);
        }
    }

    public static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    public static double f(BinaryOp op, double a, double b) {
        switch (op) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            default: throw new AssertionError(op);
        }
    }

    /** d(a op b)/da (side 0) or d(a op b)/db (side 1). */
    public static double df(BinaryOp op, int side, double a, double b) {
        switch (op) {
            case ADD: return 1;
            case SUB: return side == 0 ? 1 : -1;
            case MUL: return side == 0 ? b : a;
            case DIV: return side == 0 ? 1 / b : -a / (b * b);
            default: throw new AssertionError(op);
        }
    }

    /** Inputs inside op's domain and away from its kinks: positive for log/sqrt, |x| >= 0.1 for relu. */
    public static float[] domain(UnaryOp op, java.util.Random rng, int n, float spread) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = rng.nextGaussian() * spread;
            switch (op) {
                case LOG: case SQRT: case RSQRT: x[i] = (float) (0.2 + Math.abs(g)); break;
                case RELU: x[i] = (float) (g + Math.copySign(0.1, g)); break;
                default: x[i] = (float) g;
            }
        }
        return x;
    }

    /** Contiguous row-major strides of {@code shape}. */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        for (int d = shape.length - 1, k = 1; d >= 0; d--) {
            s[d] = k;
            k *= shape[d];
        }
        return s;
    }
}
