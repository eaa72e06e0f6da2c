package dev.aspo.tensor.cpu;

import static dev.aspo.tensor.cpu.VectorMath.F;
import static dev.aspo.tensor.cpu.VectorMath.L;
import static jdk.incubator.vector.VectorOperators.GT;

import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.UnaryOp;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Elementwise kernels (see {@link dev.aspo.tensor.Backend#unary} and neighbours): unary functions
 * and their derivatives, {@code alpha x + beta}, and broadcasting binary arithmetic with its
 * reducing gradient.
 *
 * <p>Every function has a scalar form in double ({@link #apply}, {@link #derivative}): the
 * definition the tests hold the vector loops to. The kernels themselves run every op as a vector
 * loop (exp, log, tanh from {@link VectorMath}, identical bits in every JIT tier), and the last
 * partial vector of a task goes through the same vector code on a zero-padded copy (see
 * {@link #unary}), so an element's result never depends on where a tail starts.
 */
final class ElementwiseKernels {
    /** Elements per parallel task: these loops run at ~1 ns per float; a quarter of this grain measured no faster (docs/PERFORMANCE.md). */
    private static final int GRAIN = 1 << 15;

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double INV_SQRT_2 = 1 / Math.sqrt(2), INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double GELU_CUBIC = 0.044715;
    private static final double QUICK_GELU_SCALE = 1.702;
    /**
     * Above this the scalar softplus returns x (torch's threshold): log1p(exp(x)) - x < 2e-9, below
     * float's ulp. The vector form {@code max(x, 0) + log1p(exp(-|x|))} needs no threshold.
     */
    private static final float SOFTPLUS_THRESHOLD = 20f;

    private ElementwiseKernels() {}

    // ---- unary: scalar definitions -----------------------------------------------------------

    /** f(x), computed in double where it helps and rounded once. */
    static float apply(UnaryOp op, float x) {
        switch (op) {
            case NEG: return -x;
            case EXP: return (float) Math.exp(x);
            case LOG: return (float) Math.log(x);
            case SQRT: return (float) Math.sqrt(x);
            case RSQRT: return (float) (1 / Math.sqrt(x));
            case SQUARE: return x * x;
            case TANH: return (float) Math.tanh(x);
            case SIGMOID: return (float) sigmoid(x);
            case SOFTPLUS: return x > SOFTPLUS_THRESHOLD ? x : (float) Math.log1p(Math.exp(x));
            case RELU: return Math.max(x, 0f);
            case GELU: return (float) (0.5 * x * Erf.erfc(-x * INV_SQRT_2));
            case GELU_TANH: return (float) (0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))));
            case QUICK_GELU: return (float) (x * sigmoid(QUICK_GELU_SCALE * x));
            case SILU: return (float) (x * sigmoid(x));
            default: throw new IllegalArgumentException("unknown unary op " + op);
        }
    }

    /** f'(x), given also {@code y = f(x)} (some derivatives are cheapest from the output). */
    static double derivative(UnaryOp op, float x, float y) {
        switch (op) {
            case NEG: return -1;
            case EXP: return y;
            case LOG: return 1.0 / x;
            case SQRT: return 0.5 / y;
            case RSQRT: return -0.5 * y * y * y;
            case SQUARE: return 2.0 * x;
            case TANH: return 1.0 - (double) y * y;
            case SIGMOID: return y * (1.0 - y);
            case SOFTPLUS: return sigmoid(x);
            case RELU: return x > 0 ? 1 : 0;
            case GELU: return 0.5 * Erf.erfc(-x * INV_SQRT_2) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            case GELU_TANH: {
                double t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
            }
            case QUICK_GELU: {
                double s = sigmoid(QUICK_GELU_SCALE * x);
                return s * (1 + QUICK_GELU_SCALE * x * (1 - s));
            }
            case SILU: {
                double s = sigmoid(x);
                return s * (1 + x * (1 - s));
            }
            default: throw new IllegalArgumentException("unknown unary op " + op);
        }
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));   // exp overflow gives 1/inf = 0: no NaN
    }

    // ---- unary: kernels ----------------------------------------------------------------------

    /**
     * Vector loop over whole vectors, then the tail (fewer than L elements) through the same
     * vector code on a zero-padded copy: the tail gets the very bits a full vector would give it,
     * whatever the array length, task split or vector width (a scalar tail in double would round
     * differently). The padding lanes compute garbage (log 0, 0/0) that is never copied back.
     */
    static void unary(UnaryOp op, float[] x, float[] y, int n) {
        Parallel.forRange(n, GRAIN, (s, e) -> {
            int i = unaryVector(op, x, y, s, e);
            if (i < e) {
                float[] xp = padded(x, i, e), yp = new float[L];
                unaryVector(op, xp, yp, 0, L);
                System.arraycopy(yp, 0, y, i, e - i);
            }
        });
    }

    static void unaryBackward(UnaryOp op, float[] x, float[] y, float[] gy, float[] gx, int n) {
        Parallel.forRange(n, GRAIN, (s, e) -> {
            int i = unaryBackwardVector(op, x, y, gy, gx, s, e);
            if (i < e) {
                float[] xp = padded(x, i, e), yp = padded(y, i, e), gyp = padded(gy, i, e), gxp = padded(gx, i, e);
                unaryBackwardVector(op, xp, yp, gyp, gxp, 0, L);
                System.arraycopy(gxp, 0, gx, i, e - i);
            }
        });
    }

    /** {@code a[i .. e)} copied into a zeroed vector-length array. */
    private static float[] padded(float[] a, int i, int e) {
        float[] p = new float[L];
        System.arraycopy(a, i, p, 0, e - i);
        return p;
    }

    /*
     * The vector loops, one small method per op and direction: C2 compiles a method that holds all
     * of them badly (its inlining budget runs out part-way and the later loops box every vector,
     * 80x slower), while small methods each get compiled whole. Each loop covers whole vectors of
     * [i, e) and returns where the padded tail starts.
     */

    private static int unaryVector(UnaryOp op, float[] x, float[] y, int s, int e) {
        switch (op) {
            case NEG: return negForward(x, y, s, e);
            case EXP: return expForward(x, y, s, e);
            case LOG: return logForward(x, y, s, e);
            case SQRT: return sqrtForward(x, y, s, e);
            case RSQRT: return rsqrtForward(x, y, s, e);
            case SQUARE: return squareForward(x, y, s, e);
            case TANH: return tanhForward(x, y, s, e);
            case SIGMOID: return sigmoidForward(x, y, s, e);
            case SOFTPLUS: return softplusForward(x, y, s, e);
            case RELU: return reluForward(x, y, s, e);
            case GELU: return Gelu.forward(x, y, s, e);
            case GELU_TANH: return geluTanhForward(x, y, s, e);
            case QUICK_GELU: return quickGeluForward(x, y, s, e);
            case SILU: return siluForward(x, y, s, e);
            default: return s;
        }
    }

    private static int unaryBackwardVector(UnaryOp op, float[] x, float[] y, float[] gy, float[] gx, int s, int e) {
        switch (op) {
            case NEG: return negBackward(gy, gx, s, e);
            case EXP: return expBackward(y, gy, gx, s, e);
            case LOG: return logBackward(x, gy, gx, s, e);
            case SQRT: return sqrtBackward(y, gy, gx, s, e);
            case RSQRT: return rsqrtBackward(y, gy, gx, s, e);
            case SQUARE: return squareBackward(x, gy, gx, s, e);
            case TANH: return tanhBackward(y, gy, gx, s, e);
            case SIGMOID: return sigmoidBackward(y, gy, gx, s, e);
            case SOFTPLUS: return softplusBackward(x, gy, gx, s, e);
            case RELU: return reluBackward(x, gy, gx, s, e);
            case GELU: return Gelu.backward(x, gy, gx, s, e);
            case GELU_TANH: return geluTanhBackward(x, gy, gx, s, e);
            case QUICK_GELU: return quickGeluBackward(x, gy, gx, s, e);
            case SILU: return siluBackward(x, gy, gx, s, e);
            default: return s;
        }
    }

    // neg: y = -x, y' = -1
    private static int negForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) v(x, i).neg().intoArray(y, i);
        return i;
    }

    private static int negBackward(float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gx, i).sub(v(gy, i)).intoArray(gx, i);
        return i;
    }

    // exp: y = e^x, y' = y
    private static int expForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) VectorMath.exp(v(x, i)).intoArray(y, i);
        return i;
    }

    private static int expBackward(float[] y, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gy, i).fma(v(y, i), v(gx, i)).intoArray(gx, i);
        return i;
    }

    // log: y' = 1/x
    private static int logForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) VectorMath.log(v(x, i)).intoArray(y, i);
        return i;
    }

    private static int logBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gx, i).add(v(gy, i).div(v(x, i))).intoArray(gx, i);
        return i;
    }

    // sqrt: y' = 0.5 / y
    private static int sqrtForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) v(x, i).sqrt().intoArray(y, i);
        return i;
    }

    private static int sqrtBackward(float[] y, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gy, i).div(v(y, i)).mul(0.5f).add(v(gx, i)).intoArray(gx, i);
        return i;
    }

    // rsqrt: y = 1/sqrt(x), y' = -0.5 y^3
    private static int rsqrtForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) one().div(v(x, i).sqrt()).intoArray(y, i);
        return i;
    }

    private static int rsqrtBackward(float[] y, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector yv = v(y, i);
            v(gy, i).mul(yv.mul(yv).mul(yv)).mul(-0.5f).add(v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    // square: y' = 2x
    private static int squareForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) v(x, i).mul(v(x, i)).intoArray(y, i);
        return i;
    }

    private static int squareBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gy, i).mul(v(x, i)).mul(2f).add(v(gx, i)).intoArray(gx, i);
        return i;
    }

    // tanh: y' = 1 - y^2
    private static int tanhForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) VectorMath.tanh(v(x, i)).intoArray(y, i);
        return i;
    }

    private static int tanhBackward(float[] y, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector yv = v(y, i);
            v(gy, i).fma(yv.mul(yv).neg().add(1f), v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    // sigmoid: y' = y (1 - y)
    private static int sigmoidForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) sigmoid(v(x, i)).intoArray(y, i);
        return i;
    }

    private static int sigmoidBackward(float[] y, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector yv = v(y, i);
            v(gy, i).fma(yv.mul(one().sub(yv)), v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    // softplus: y = log1p(exp(x)) = max(x, 0) + log1p(exp(-|x|)) (no overflow); y' = sigmoid(x)
    private static int softplusForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i);
            xv.max(0f).add(VectorMath.log1p(VectorMath.exp(xv.abs().neg()))).intoArray(y, i);
        }
        return i;
    }

    private static int softplusBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gy, i).fma(sigmoid(v(x, i)), v(gx, i)).intoArray(gx, i);
        return i;
    }

    // relu: y' = [x > 0]
    private static int reluForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) v(x, i).max(0f).intoArray(y, i);
        return i;
    }

    private static int reluBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) v(gx, i).add(v(gy, i), v(x, i).compare(GT, 0f)).intoArray(gx, i);
        return i;
    }

    // gelu-tanh: y = 0.5 x (1 + t), t = tanh(k (x + c x^3)); y' = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2)
    private static int geluTanhForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i);
            FloatVector t = VectorMath.tanh(tanhInner(xv));
            xv.mul(0.5f).mul(t.add(1f)).intoArray(y, i);
        }
        return i;
    }

    private static int geluTanhBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i);
            FloatVector t = VectorMath.tanh(tanhInner(xv));
            FloatVector inner = xv.mul(xv).mul((float) (3 * GELU_CUBIC * SQRT_2_OVER_PI)).add((float) SQRT_2_OVER_PI);
            FloatVector d = t.add(1f).add(xv.mul(t.mul(t).neg().add(1f)).mul(inner)).mul(0.5f);
            v(gy, i).fma(d, v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    // quick-gelu: y = x s, s = sigmoid(1.702 x); y' = s (1 + 1.702 x (1 - s))
    private static int quickGeluForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i);
            xv.mul(sigmoid(xv.mul((float) QUICK_GELU_SCALE))).intoArray(y, i);
        }
        return i;
    }

    private static int quickGeluBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i), sv = sigmoid(xv.mul((float) QUICK_GELU_SCALE));
            FloatVector d = sv.mul(xv.mul(one().sub(sv)).mul((float) QUICK_GELU_SCALE).add(1f));
            v(gy, i).fma(d, v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    // silu: y = x s, s = sigmoid(x); y' = s (1 + x (1 - s))
    private static int siluForward(float[] x, float[] y, int i, int e) {
        for (; i <= e - L; i += L) v(x, i).mul(sigmoid(v(x, i))).intoArray(y, i);
        return i;
    }

    private static int siluBackward(float[] x, float[] gy, float[] gx, int i, int e) {
        for (; i <= e - L; i += L) {
            FloatVector xv = v(x, i), sv = sigmoid(xv);
            FloatVector d = sv.mul(xv.mul(one().sub(sv)).add(1f));
            v(gy, i).fma(d, v(gx, i)).intoArray(gx, i);
        }
        return i;
    }

    private static FloatVector v(float[] a, int i) {
        return FloatVector.fromArray(F, a, i);
    }

    private static FloatVector one() {
        return FloatVector.broadcast(F, 1f);
    }

    /** {@code 1 / (1 + exp(-x))}: exp overflow gives 1/inf = 0, no NaN. */
    private static FloatVector sigmoid(FloatVector x) {
        return one().div(VectorMath.exp(x.neg()).add(1f));
    }

    /** GELU-tanh's argument {@code sqrt(2/pi) (x + 0.044715 x^3)}, as {@code x (k + k c x^2)}. */
    private static FloatVector tanhInner(FloatVector x) {
        return x.mul(x).mul((float) (SQRT_2_OVER_PI * GELU_CUBIC)).add((float) SQRT_2_OVER_PI).mul(x);
    }

    // ---- affine ------------------------------------------------------------------------------

    static void affine(float[] x, float[] y, int n, float alpha, float beta) {
        Parallel.forRange(n, GRAIN, (s, e) -> {
            int i = s;
            for (; i <= e - L; i += L) v(x, i).fma(alpha, beta).intoArray(y, i);
            for (; i < e; i++) y[i] = alpha * x[i] + beta;
        });
    }

    // ---- binary: scalar definitions ----------------------------------------------------------

    static float apply(BinaryOp op, float a, float b) {
        switch (op) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            default: throw new IllegalArgumentException("unknown binary op " + op);
        }
    }

    /** d(a op b)/da for side 0, d(a op b)/db for side 1. */
    static float derivative(BinaryOp op, int side, float a, float b) {
        switch (op) {
            case ADD: return 1;
            case SUB: return side == 0 ? 1 : -1;
            case MUL: return side == 0 ? b : a;
            case DIV: return side == 0 ? 1 / b : -(a / b) / b;
            default: throw new IllegalArgumentException("unknown binary op " + op);
        }
    }

    // ---- binary: forward ---------------------------------------------------------------------

    /*
     * Broadcasting walks the output row by row, a row being the last axis after Layout has dropped
     * size-1 axes and merged neighbours that every operand steps through uniformly. So
     *   [N,C] + [N,C]  ->  one row of N*C, strides (1, 1)
     *   [N,C] + [C]    ->  N rows of C,   inner strides (1, 1), b's row offset 0
     *   [N,C] * [N,1]  ->  N rows of C,   inner strides (1, 0): b[n] broadcast along the row
     * and each row is one vector loop. Parallel tasks take contiguous ranges of output elements.
     */

    static void binary(BinaryOp op, float[] a, int[] aStrides, float[] b, int[] bStrides, float[] out, int[] outShape) {
        Layout l = Layout.of(outShape, aStrides, bStrides);
        if (l.total == 0) return;
        int n = l.inner, sa = l.innerStride(0), sb = l.innerStride(1);
        Parallel.forRange(l.total, GRAIN, (s, e) -> {
            for (int pos = s; pos < e; ) {
                int row = pos / n, col = pos - row * n, len = Math.min(n - col, e - pos);
                rowForward(op, a, l.rowOffset(0, row) + col * sa, sa, b, l.rowOffset(1, row) + col * sb, sb,
                        out, pos, len);
                pos += len;
            }
        });
    }

    /**
     * {@code o[oo+j] = a[ao+j*sa] op b[bo+j*sb]} for {@code j < n}: a vector loop when each side
     * is walked (stride 1) or broadcast (stride 0), one small method per op and pattern (see the
     * note on the unary loops), then the scalar definition for the tail and any other strides.
     */
    private static void rowForward(BinaryOp op, float[] a, int ao, int sa, float[] b, int bo, int sb,
                                   float[] o, int oo, int n) {
        int j = 0;
        if (sa == 1 && sb == 1) {
            switch (op) {
                case ADD: j = addVV(a, ao, b, bo, o, oo, n); break;
                case SUB: j = subVV(a, ao, b, bo, o, oo, n); break;
                case MUL: j = mulVV(a, ao, b, bo, o, oo, n); break;
                case DIV: j = divVV(a, ao, b, bo, o, oo, n); break;
                default: break;
            }
        } else if (sa == 1 && sb == 0) {
            switch (op) {
                case ADD: j = addVS(a, ao, b[bo], o, oo, n); break;
                case SUB: j = subVS(a, ao, b[bo], o, oo, n); break;
                case MUL: j = mulVS(a, ao, b[bo], o, oo, n); break;
                case DIV: j = divVS(a, ao, b[bo], o, oo, n); break;
                default: break;
            }
        } else if (sa == 0 && sb == 1) {
            switch (op) {
                case ADD: j = addVS(b, bo, a[ao], o, oo, n); break;   // c + v == v + c exactly
                case SUB: j = subSV(a[ao], b, bo, o, oo, n); break;
                case MUL: j = mulVS(b, bo, a[ao], o, oo, n); break;
                case DIV: j = divSV(a[ao], b, bo, o, oo, n); break;
                default: break;
            }
        }
        for (; j < n; j++) o[oo + j] = apply(op, a[ao + j * sa], b[bo + j * sb]);
    }

    private static int addVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).add(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    private static int subVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).sub(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    private static int mulVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).mul(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    private static int divVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).div(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    private static int addVS(float[] a, int ao, float c, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).add(c).intoArray(o, oo + j);
        return j;
    }

    private static int subVS(float[] a, int ao, float c, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).sub(c).intoArray(o, oo + j);
        return j;
    }

    private static int mulVS(float[] a, int ao, float c, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).mul(c).intoArray(o, oo + j);
        return j;
    }

    private static int divVS(float[] a, int ao, float c, float[] o, int oo, int n) {
        int j = 0;
        for (; j <= n - L; j += L) v(a, ao + j).div(c).intoArray(o, oo + j);
        return j;
    }

    private static int subSV(float c, float[] b, int bo, float[] o, int oo, int n) {
        FloatVector cv = FloatVector.broadcast(F, c);
        int j = 0;
        for (; j <= n - L; j += L) cv.sub(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    private static int divSV(float c, float[] b, int bo, float[] o, int oo, int n) {
        FloatVector cv = FloatVector.broadcast(F, c);
        int j = 0;
        for (; j <= n - L; j += L) cv.div(v(b, bo + j)).intoArray(o, oo + j);
        return j;
    }

    // ---- binary: backward --------------------------------------------------------------------

    /*
     * g[i_side] += gout[i] * d(a op b)/d(side), summed where side is broadcast. Tasks must never
     * add into the same g element concurrently, so:
     *   - side not broadcast: output and g elements correspond one to one; split the output.
     *   - side's first axis kept (e.g. [N,C] * [N,1], grad of the column): split that axis; its
     *     slices own disjoint parts of g.
     *   - otherwise (e.g. bias grad of [N,C] + [C], or a [1] scalar): each task sums its range of
     *     the output into a private copy of g; the copies are added into g in task order
     *     (deterministic for a given thread count).
     */

    static void binaryBackward(BinaryOp op, int side, float[] a, int[] aStrides, float[] b, int[] bStrides,
                               float[] gout, int[] outShape, float[] g) {
        if (side != 0 && side != 1) throw new IllegalArgumentException("binaryBackward: side must be 0 or 1, got " + side);
        Layout l = Layout.of(outShape, aStrides, bStrides);
        if (l.total == 0) return;
        int total = l.total;
        if (!l.broadcasts(side)) {
            Parallel.forRange(total, GRAIN, (s, e) -> gradRange(op, side, l, a, b, gout, g, s, e));
        } else if (l.rank > 1 && l.strides[side][0] != 0 && l.shape[0] >= Parallel.THREADS) {
            int slice = total / l.shape[0];
            Parallel.forRange(l.shape[0], Math.max(1, GRAIN / slice),
                    (s, e) -> gradRange(op, side, l, a, b, gout, g, s * slice, e * slice));
        } else {
            int tasks = Math.min(Parallel.THREADS, Math.max(1, total / GRAIN));
            if (tasks == 1) {
                gradRange(op, side, l, a, b, gout, g, 0, total);
                return;
            }
            int span = l.span(side);
            float[][] partial = new float[tasks][];
            Parallel.forRange(tasks, 1, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    partial[t] = new float[span];
                    gradRange(op, side, l, a, b, gout, partial[t], (int) ((long) total * t / tasks),
                            (int) ((long) total * (t + 1) / tasks));
                }
            });
            for (float[] p : partial) VectorMath.axpy(1f, p, 0, g, 0, span);
        }
    }

    /** The gradient contributions of output elements {@code [s, e)}, added into {@code g}. */
    private static void gradRange(BinaryOp op, int side, Layout l, float[] a, float[] b, float[] gout, float[] g,
                                  int s, int e) {
        int n = l.inner, sa = l.innerStride(0), sb = l.innerStride(1), sg = l.innerStride(side);
        for (int pos = s; pos < e; ) {
            int row = pos / n, col = pos - row * n, len = Math.min(n - col, e - pos);
            rowBackward(op, side, a, l.rowOffset(0, row) + col * sa, sa, b, l.rowOffset(1, row) + col * sb, sb,
                    gout, pos, g, l.rowOffset(side, row) + col * sg, sg, len);
            pos += len;
        }
    }

    /**
     * One row: {@code g[go+j*sg] += gout[oo+j] * d(j)}. The derivative is a constant along the row
     * for ADD, SUB, MUL by a broadcast value and DIV by one, or the other operand's row for MUL;
     * those, with g either walked ({@code sg = 1}) or summed into ({@code sg = 0}), are vector
     * loops. The rest (DIV by a row, unusual strides) is the scalar definition.
     */
    private static void rowBackward(BinaryOp op, int side, float[] a, int ao, int sa, float[] b, int bo, int sb,
                                    float[] gout, int oo, float[] g, int go, int sg, int n) {
        float[] other = side == 0 ? b : a;
        int otherOff = side == 0 ? bo : ao, otherStride = side == 0 ? sb : sa;
        boolean constant = false, otherRow = false;
        float c = 0;
        switch (op) {
            case ADD: constant = true; c = 1; break;
            case SUB: constant = true; c = side == 0 ? 1 : -1; break;
            case MUL:
                if (otherStride == 0) {
                    constant = true;
                    c = other[otherOff];
                } else {
                    otherRow = otherStride == 1;
                }
                break;
            case DIV:
                if (side == 0 && sb == 0) {
                    constant = true;
                    c = 1 / b[bo];
                }
                break;
            default: break;
        }
        if (constant && sg == 1) {
            VectorMath.axpy(c, gout, oo, g, go, n);
        } else if (constant && sg == 0) {
            g[go] += (float) (c * VectorMath.sum(gout, oo, n));
        } else if (otherRow && sg == 1) {
            VectorMath.addProduct(gout, oo, other, otherOff, g, go, n);
        } else if (otherRow && sg == 0) {
            g[go] += (float) VectorMath.dot(gout, oo, other, otherOff, n);
        } else {
            for (int j = 0; j < n; j++) g[go + j * sg] += gout[oo + j] * derivative(op, side, a[ao + j * sa], b[bo + j * sb]);
        }
    }

    // ---- broadcast layout --------------------------------------------------------------------

    /**
     * The output shape with size-1 axes dropped and adjacent axes merged where a and b both step
     * uniformly across the pair: {@code stride[outer] == stride[inner] * size[inner]} (the
     * contiguous output always does).
     */
    private static final class Layout {
        final int rank, total, inner;
        final int[] shape;
        /** [0] a's strides, [1] b's; per merged axis. */
        final int[][] strides;

        private Layout(int[] shape, int[][] strides, int total) {
            this.rank = shape.length;
            this.shape = shape;
            this.strides = strides;
            this.total = total;
            this.inner = shape[rank - 1];
        }

        static Layout of(int[] outShape, int[] aStrides, int[] bStrides) {
            int r = outShape.length;
            if (aStrides.length != r || bStrides.length != r) {
                throw new IllegalArgumentException("binary: strides " + Arrays.toString(aStrides) + " and "
                        + Arrays.toString(bStrides) + " do not match the output shape " + Arrays.toString(outShape));
            }
            long total = 1;
            for (int s : outShape) total *= s;
            if (total > Integer.MAX_VALUE) throw new IllegalArgumentException("binary: output too large " + Arrays.toString(outShape));
            int[][] src = {aStrides, bStrides};
            int[] shape = new int[Math.max(1, r)];
            int[][] st = new int[2][Math.max(1, r)];
            int k = 0;
            for (int d = 0; d < r; d++) {
                if (outShape[d] == 1) continue;
                boolean merge = k > 0;
                for (int o = 0; o < 2 && merge; o++) merge = st[o][k - 1] == src[o][d] * outShape[d];
                if (merge) {
                    shape[k - 1] *= outShape[d];
                    for (int o = 0; o < 2; o++) st[o][k - 1] = src[o][d];
                } else {
                    shape[k] = outShape[d];
                    for (int o = 0; o < 2; o++) st[o][k] = src[o][d];
                    k++;
                }
            }
            if (k == 0) {           // a single element (or a rank-0 output)
                shape[0] = 1;
                k = 1;
            }
            int[][] trimmed = {Arrays.copyOf(st[0], k), Arrays.copyOf(st[1], k)};
            return new Layout(Arrays.copyOf(shape, k), trimmed, (int) total);
        }

        int innerStride(int operand) {
            return strides[operand][rank - 1];
        }

        /** Offset in {@code operand} of the start of output row {@code row} (all axes but the last). */
        int rowOffset(int operand, int row) {
            int off = 0;
            int[] st = strides[operand];
            for (int d = rank - 2; d >= 0; d--) {
                int i = row % shape[d];
                row /= shape[d];
                off += i * st[d];
            }
            return off;
        }

        /** Whether {@code operand} is broadcast along some axis (its gradient then sums). */
        boolean broadcasts(int operand) {
            for (int d = 0; d < rank; d++) if (strides[operand][d] == 0 && shape[d] > 1) return true;
            return false;
        }

        /** One past the largest offset {@code operand} reaches. */
        int span(int operand) {
            int s = 1;
            for (int d = 0; d < rank; d++) s += (shape[d] - 1) * strides[operand][d];
            return s;
        }
    }
}
