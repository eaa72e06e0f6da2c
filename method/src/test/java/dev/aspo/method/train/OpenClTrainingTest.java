package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 50 DPO and 50 ASPO steps of a tiny Llama on the OpenCL device give the losses of the same run on
 * the CPU within 1e-3 (the accelerator issue's check). Skipped without an OpenCL platform unless
 * {@code ASPO_OPENCL_REQUIRED=1} (CI sets it and installs PoCL).
 */
class OpenClTrainingTest {
    private static final Tokenizer TOK = Tiny.tokenizer();

    @AfterEach
    void backToCpu() {
        Backends.use(Backends.cpu());
    }

    private static List<ObjectNode> run(Trainer.Mode mode, Backend backend, Path train, Path out) throws IOException {
        Backends.use(backend);
        TrainConfig cfg = TrainConfig.of(Map.of("train_file", train.toString(), "output_dir", out.toString(), "batch_size", "2",
                "lr", "3e-3", "beta", "0.5", "max_steps", "50", "progress", "none"));
        new Trainer(mode, cfg, new LlamaPolicy(Tiny.model(TOK, 7)), null, TOK,
                mode == Trainer.Mode.ASPO ? TrainerTest.TEXT_SIMILARITY : null, new PrintStream(new ByteArrayOutputStream()))
                .run(null);
        return TrainerTest.metrics(out);
    }

    @Test
    void fiftyDpoAndAspoStepsGiveTheCpuLosses(@TempDir Path dir) throws IOException {
        boolean required = "1".equals(System.getenv("ASPO_OPENCL_REQUIRED"));
        assumeTrue(required || dev.aspo.opencl.Devices.available(), "no OpenCL platform");
        Backend opencl = dev.aspo.opencl.Devices.select("opencl");
        Path train = Tiny.preferenceFile(dir, "train.jsonl", 16, 1);
        for (Trainer.Mode mode : new Trainer.Mode[] {Trainer.Mode.DPO, Trainer.Mode.ASPO}) {
            List<ObjectNode> cpu = run(mode, Backends.cpu(), train, dir.resolve(mode.key() + "-cpu"));
            List<ObjectNode> cl = run(mode, opencl, train, dir.resolve(mode.key() + "-opencl"));
            assertEquals(50, cpu.size());
            assertEquals(50, cl.size());
            double worst = 0;
            for (int i = 0; i < 50; i++) {
                double a = cpu.get(i).get("loss").asDouble(), b = cl.get(i).get("loss").asDouble();
                worst = Math.max(worst, Math.abs(a - b));
                assertTrue(Math.abs(a - b) <= 1e-3, mode + " step " + (i + 1) + ": cpu loss " + a + ", opencl " + b);
            }
            assertTrue(cpu.get(49).get("loss").asDouble() < cpu.get(0).get("loss").asDouble(), mode + ": the loss falls");
            System.out.println(mode + ": worst |loss(cpu) - loss(opencl)| over 50 steps = " + worst);
        }
    }
}
