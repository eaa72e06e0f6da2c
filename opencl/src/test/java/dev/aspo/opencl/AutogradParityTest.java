package dev.aspo.opencl;

import static dev.aspo.opencl.OpenClTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.Arithmetic;
import dev.aspo.tensor.ops.Attention;
import dev.aspo.tensor.ops.CrossEntropy;
import dev.aspo.tensor.ops.Embedding;
import dev.aspo.tensor.ops.LayerNorm;
import dev.aspo.tensor.ops.MatMul;
import dev.aspo.tensor.ops.Reductions;
import dev.aspo.tensor.ops.RmsNorm;
import dev.aspo.tensor.ops.Rope;
import dev.aspo.tensor.ops.SegmentSum;
import dev.aspo.tensor.ops.Shapes;
import dev.aspo.tensor.ops.Softmax;
import dev.aspo.tensor.ops.Unary;
import dev.aspo.tensor.optim.AdamW;
import dev.aspo.tensor.optim.GradClip;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The op classes (shape logic, autograd) unchanged on the OpenCL backend: a small transformer
 * block's loss and every parameter gradient match the CPU's, and forward + backward + optimiser
 * step read nothing back to the host until the loss is asked for.
 */
class AutogradParityTest {
    private static OpenClBackend cl;

    @BeforeAll
    static void setUp() {
        cl = OpenClTestSupport.backend();
    }

    @AfterEach
    void restore() {
        Backends.use(Backends.cpu());
    }

    static final int VOCAB = 29, DIM = 24, HEADS = 4, KV_HEADS = 2, HEAD_DIM = DIM / HEADS, B = 2, T = 7;

    /** Parameters in a fixed order, created on the current backend from one seed. */
    static List<Tensor> params() {
        Random rng = new Random(42);
        List<Tensor> p = new ArrayList<>();
        p.add(Tensor.randn(rng, 0.5f, VOCAB, DIM).requiresGrad(true));                      // 0 embedding
        p.add(Tensor.randn(rng, 0.2f, DIM).requiresGrad(true));                             // 1 rms weight
        p.add(Tensor.randn(rng, 0.2f, DIM, DIM).requiresGrad(true));                        // 2 wq
        p.add(Tensor.randn(rng, 0.2f, DIM, KV_HEADS * HEAD_DIM).requiresGrad(true));        // 3 wk
        p.add(Tensor.randn(rng, 0.2f, DIM, KV_HEADS * HEAD_DIM).requiresGrad(true));        // 4 wv
        p.add(Tensor.randn(rng, 0.2f, DIM, DIM).requiresGrad(true));                        // 5 wo
        p.add(Tensor.randn(rng, 0.2f, DIM).requiresGrad(true));                             // 6 ln weight
        p.add(Tensor.randn(rng, 0.2f, DIM).requiresGrad(true));                             // 7 ln bias
        p.add(Tensor.randn(rng, 0.2f, DIM, VOCAB).requiresGrad(true));                      // 8 head
        return p;
    }

    private static final int[] IDS = {1, 5, 7, 7, 2, 28, 0, 3, 3, 3, 9, 11, 4, 1};
    private static final int[] TARGETS = {5, 7, 7, 2, 28, 0, -1, 3, 3, 9, 11, 4, 1, -1};
    private static final int[] POSITIONS = {0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6};
    private static final float[] KEY_MASK = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
    private static final int[] SEGMENTS = {0, 0, 1, 1, 1, -1, 2, 2, 3, 3, 3, 3, -1, 4};

    /** One forward pass to a scalar loss. */
    static Tensor loss(List<Tensor> p) {
        return loss(p, IDS, TARGETS, SEGMENTS);
    }

    /** The same on another batch: {@code B*T} token ids and targets, segment ids below 5. */
    static Tensor loss(List<Tensor> p, int[] ids, int[] targets, int[] segments) {
        Tensor x = Embedding.lookup(p.get(0), ids, B, T);                                   // [B,T,DIM]
        Tensor h = RmsNorm.apply(x, p.get(1), 1e-6f);
        Tensor q = Rope.apply(MatMul.matmul(h, p.get(2)).reshape(B, T, HEADS, HEAD_DIM), POSITIONS, 10000f);
        Tensor k = Rope.apply(MatMul.matmul(h, p.get(3)).reshape(B, T, KV_HEADS, HEAD_DIM), POSITIONS, 10000f);
        Tensor v = MatMul.matmul(h, p.get(4));
        Tensor a = Attention.apply(q.reshape(B, T, DIM), k.reshape(B, T, KV_HEADS * HEAD_DIM), v, HEADS, KV_HEADS,
                true, KEY_MASK);
        Tensor r = Arithmetic.add(x, MatMul.matmul(a, p.get(5)));
        Tensor n = Unary.gelu(LayerNorm.apply(r, p.get(6), p.get(7), 1e-5f));
        Tensor logits = MatMul.matmul(n, p.get(8)).reshape(B * T, VOCAB);
        Tensor ce = CrossEntropy.mean(logits, targets);
        // a second path through softmax, a transpose, reductions (sum, max) and segment sums
        Tensor lp = Softmax.logSoftmax(logits);
        Tensor picked = Reductions.sum(Shapes.transpose(lp, 0, 1), 0, false);               // [B*T]
        Tensor seg = SegmentSum.sum(Arithmetic.mul(picked, picked), segments, 5);
        Tensor peak = Reductions.mean(Reductions.max(lp, 1, false));                        // argmax kept on the device
        return Arithmetic.add(Arithmetic.add(ce, Arithmetic.scale(Reductions.mean(seg), 1e-4f)), Arithmetic.scale(peak, 1e-2f));
    }

    @Test
    void lossAndGradientsMatchTheCpu() {
        Backends.use(Backends.cpu());
        List<Tensor> pc = params();
        Tensor lc = loss(pc);
        lc.backward();

        Backends.use(cl);
        List<Tensor> pg = params();
        long before = cl.downloadCount();
        Tensor lg = loss(pg);
        lg.backward();
        assertEquals(before, cl.downloadCount(), "forward + backward on the device read nothing back to the host");

        assertClose("loss", new float[] {lc.item()}, new float[] {lg.item()}, 1e-4);
        for (int i = 0; i < pc.size(); i++) {
            assertEquals(cl, pg.get(i).grad().backend());
            assertClose("grad of parameter " + i, pc.get(i).grad().toFloatArray(), pg.get(i).grad().toFloatArray(), 1e-4);
        }
        // the global gradient norm of all parameters: one read from the device, not one per parameter
        long reads = cl.downloadCount();
        double norm = GradClip.globalNorm(pg);
        assertEquals(reads + 1, cl.downloadCount(), "reads for the gradient norm of " + pg.size() + " parameters");
        assertClose("gradient norm", new float[] {(float) GradClip.globalNorm(pc)}, new float[] {(float) norm}, 1e-4);
    }

    @Test
    void trainingStepsStayOnTheDeviceAndTrackTheCpu() {
        float[] cpuLoss = train(Backends.cpu());
        long before = cl.downloadCount();
        float[] clLoss = train(cl);
        // one read per step: the loss value the caller asked for
        assertEquals(before + clLoss.length, cl.downloadCount(), "reads per training step");
        assertClose("losses over steps", cpuLoss, clLoss, 1e-3);
        assertEquals(true, clLoss[clLoss.length - 1] < clLoss[0], "training lowers the loss");
    }

    private static float[] train(Backend be) {
        Backends.use(be);
        List<Tensor> p = params();
        AdamW opt = new AdamW(p, AdamW.Options.of(1e-2));
        float[] losses = new float[4];
        for (int s = 0; s < losses.length; s++) {
            opt.zeroGrad();
            Tensor l = loss(p);
            l.backward();
            opt.step();
            losses[s] = l.item();
        }
        return losses;
    }
}
