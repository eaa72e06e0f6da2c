package dev.aspo.tensor.ops;

import static dev.aspo.tensor.GradCheck.check;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.aspo.tensor.ScalarMath;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.UnaryOp;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class UnaryTest {
    private final Random rng = new Random(11);

    /** Every op through its named shortcut. */
    private static final Map<UnaryOp, UnaryOperator<Tensor>> SHORTCUTS = new EnumMap<>(UnaryOp.class);

    static {
        SHORTCUTS.put(UnaryOp.NEG, Unary::neg);
        SHORTCUTS.put(UnaryOp.EXP, Unary::exp);
        SHORTCUTS.put(UnaryOp.LOG, Unary::log);
        SHORTCUTS.put(UnaryOp.SQRT, Unary::sqrt);
        SHORTCUTS.put(UnaryOp.RSQRT, Unary::rsqrt);
        SHORTCUTS.put(UnaryOp.SQUARE, Unary::square);
        SHORTCUTS.put(UnaryOp.TANH, Unary::tanh);
        SHORTCUTS.put(UnaryOp.SIGMOID, Unary::sigmoid);
        SHORTCUTS.put(UnaryOp.SOFTPLUS, Unary::softplus);
        SHORTCUTS.put(UnaryOp.RELU, Unary::relu);
        SHORTCUTS.put(UnaryOp.GELU, Unary::gelu);
        SHORTCUTS.put(UnaryOp.GELU_TANH, Unary::geluTanh);
        SHORTCUTS.put(UnaryOp.QUICK_GELU, Unary::quickGelu);
        SHORTCUTS.put(UnaryOp.SILU, Unary::silu);
    }

    private static double[] reference(UnaryOp op, double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = ScalarMath.f(op, x[i]);
        return y;
    }

    /** [37] is two 16-lane vectors and a tail; [2, 3, 4] one vector and a tail. */
    @Test
    void everyOpMatchesItsReferenceAndFiniteDifferences() {
        assertEquals(UnaryOp.values().length, SHORTCUTS.size());
        for (UnaryOp op : UnaryOp.values()) {
            for (int[] shape : new int[][] {{37}, {2, 3, 4}}) {
                Tensor x = Tensor.of(ScalarMath.domain(op, rng, (int) Tensor.numel(shape), 2f), shape).requiresGrad(true);
                check(op + " via apply", in -> Unary.apply(op, in[0]), in -> reference(op, in[0]), x);
                check(op + " via shortcut", in -> SHORTCUTS.get(op).apply(in[0]), in -> reference(op, in[0]), x);
            }
        }
    }

    @Test
    void gradientsAccumulateOverSeveralUses() {
        // y = silu(x) + tanh(x): both backward kernels add into the same gradient buffer
        Tensor x = Tensor.of(ScalarMath.domain(UnaryOp.SILU, rng, 21, 1.5f), 3, 7).requiresGrad(true);
        check("silu(x) + tanh(x)", in -> Arithmetic.add(Unary.silu(in[0]), Unary.tanh(in[0])), in -> {
            double[] y = new double[in[0].length];
            for (int i = 0; i < y.length; i++) y[i] = ScalarMath.f(UnaryOp.SILU, in[0][i]) + Math.tanh(in[0][i]);
            return y;
        }, x);
    }

    @Test
    void noGraphWithoutGradients() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor y = Unary.exp(x);
        assertNull(y.node());
        assertEquals((float) Math.exp(2), y.toFloatArray()[1], 1e-6);
    }
}
