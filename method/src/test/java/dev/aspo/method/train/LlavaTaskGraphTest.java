package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.aspo.method.loss.SftLoss;
import dev.aspo.method.study.StudyModels;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.opencl.Devices;
import dev.aspo.opencl.OpenClBackend;
import dev.aspo.opencl.TaskGraph;
import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.optim.AdamW;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A whole SFT step of the study's LLaVA (vision tower, projector, decoder; mean cross-entropy;
 * backward; AdamW) recorded as an OpenCL task graph and replayed on batches whose rows differ in
 * length: padding, attention mask, labelled positions and the count of them all change, and the
 * replayed steps give the eager steps' losses and weights bit for bit. What lets the plan follow
 * the padding: the token ids reach the embedding's gather and scatter as they are (the pad row is
 * skipped on the device), and the mean's count of labelled positions is worked out on the device.
 * Skipped without an OpenCL platform unless {@code ASPO_OPENCL_REQUIRED=1}.
 */
class LlavaTaskGraphTest {
    private static final int BATCH = 2, SEQ = 20;

    @AfterEach
    void backToCpu() {
        Backends.use(Backends.cpu());
    }

    /** One batch: ids (BOS, the image tokens, text, right padding), targets, key mask, pixels. */
    record Batch(int[] ids, int[] targets, float[] mask, float[] pixels) {
        Object[] inputs() {
            return new Object[] {ids, targets, mask, pixels};
        }
    }

    private static List<Batch> batches(Tokenizer tok, int features, int count) {
        int image = tok.tokenToId("<image>"), pad = tok.tokenToId("<pad>"), bos = tok.tokenToId("<bos>");
        Random rng = new Random(3);
        List<Batch> out = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int[] ids = new int[BATCH * SEQ], targets = new int[BATCH * SEQ];
            float[] mask = new float[BATCH * SEQ];
            for (int r = 0; r < BATCH; r++) {
                int len = SEQ - rng.nextInt(6);   // rows of 15..20 tokens: the padding moves
                for (int t = 0; t < SEQ; t++) {
                    int i = r * SEQ + t;
                    ids[i] = t >= len ? pad : t == 0 ? bos : t <= features ? image : 5 + rng.nextInt(tok.vocabSize() - 5);
                    mask[i] = t < len ? 1 : 0;
                }
                for (int t = 0; t < SEQ; t++) {
                    targets[r * SEQ + t] = t > features && t + 1 < len ? ids[r * SEQ + t + 1] : SftLoss.IGNORE;
                }
            }
            float[] pixels = new float[BATCH * 3 * StudyModels.IMAGE_SIZE * StudyModels.IMAGE_SIZE];
            for (int i = 0; i < pixels.length; i++) pixels[i] = (float) rng.nextGaussian();
            out.add(new Batch(ids, targets, mask, pixels));
        }
        return out;
    }

    private static Tokenizer tokenizer() {
        return StudyModels.tokenizer(List.of("There is a small red circle in the top left corner.",
                "The blue square in the centre is large.", "There are two objects."));
    }

    /** A fresh model (same seed each time), its optimiser and the step on one batch. */
    private record Run(LlavaForConditionalGeneration model, AdamW opt, AtomicReference<Tensor> loss, Consumer<Batch> step) {
        static Run create(Tokenizer tok) {
            LlavaForConditionalGeneration m = StudyModels.llava(tok, StudyModels.clip(tok, 1), 2);
            AdamW opt = new AdamW(m.namedParameters(), AdamW.Options.of(1e-3), AdamW.biasesAndNorms());
            AtomicReference<Tensor> loss = new AtomicReference<>();
            int size = StudyModels.IMAGE_SIZE;
            Consumer<Batch> step = b -> {
                opt.zeroGrad();
                Tensor logits = m.forward(b.ids(), BATCH, SEQ, b.mask(), Tensor.of(b.pixels(), BATCH, 3, size, size));
                Tensor l = SftLoss.loss(logits, b.targets());
                l.backward();
                opt.step();
                loss.set(l);
            };
            return new Run(m, opt, loss, step);
        }
    }

    @Test
    void replayedSftStepsMatchEagerStepsOnBatchesOfOtherPadding() {
        boolean required = "1".equals(System.getProperty("ASPO_OPENCL_REQUIRED", System.getenv("ASPO_OPENCL_REQUIRED")));
        assumeTrue(required || Devices.available(), Devices.NO_PLATFORM);
        OpenClBackend cl = (OpenClBackend) Devices.select("opencl");
        Backends.use(cl);
        Tokenizer tok = tokenizer();
        Run eager = Run.create(tok);
        List<Batch> data = batches(tok, eager.model().featuresPerImage(), 6);
        float[] expected = new float[data.size()];
        for (int s = 0; s < data.size(); s++) {
            eager.step().accept(data.get(s));
            expected[s] = eager.loss().get().item();
        }

        Run replay = Run.create(tok);
        float[] got = new float[data.size()];
        replay.step().accept(data.get(0));     // once eagerly: AdamW's moments
        got[0] = replay.loss().get().item();
        try (TaskGraph.Plan<Batch> plan = TaskGraph.record(cl, replay.step(), Batch::inputs, data.get(1), data.get(2))) {
            got[2] = replay.loss().get().item();
            for (int s = 3; s < data.size(); s++) {
                plan.execute(data.get(s));
                got[s] = replay.loss().get().item();
            }
        }
        expected[1] = got[1] = 0;   // the first recording's loss tensor is not the plan's
        assertArrayEquals(expected, got, 0f, "losses of eager and replayed SFT steps");
        Map<String, Tensor> pe = eager.model().namedParameters(), pr = replay.model().namedParameters();
        for (String name : pe.keySet()) {
            assertArrayEquals(pe.get(name).toFloatArray(), pr.get(name).toFloatArray(), 0f, name + " after training");
        }
        assertEquals(data.size(), replay.opt().step("language_model.model.embed_tokens.weight"));
        assertTrue(got[data.size() - 1] != got[3], "the replayed steps trained on new batches");
    }
}
