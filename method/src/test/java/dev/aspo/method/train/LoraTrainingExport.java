package dev.aspo.method.train;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the Java half of the by-hand check that the adapter a LoRA training run leaves in its
 * last checkpoint loads in PEFT with the logits we compute. Runs only when asked:
 *
 * <pre>
 *   mvn -B -q -o test -pl method -am -Dtest=LoraTrainingExport -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dlora.training.out=/tmp/lora-training
 *   /work/venv-fixtures/bin/python models/src/test/python/check_lora_roundtrip.py /tmp/lora-training
 * </pre>
 *
 * For a tiny Llama (DPO) and a tiny LLaVA (DPO, adapters in the tower, the projector and the
 * language model, dropout, gradient checkpointing), both saved under {@code <out>-bases/}: trains a
 * few steps with a {@code lora} block whose {@code model} is that base, copies the last
 * checkpoint as it is to {@code <out>/<name>/} (adapter files beside the optimiser and trainer
 * state), and writes what check_lora_roundtrip.py compares: {@code <name>.merged/} and
 * {@code <name>.java_logits.safetensors} (inputs and our logits with the adapter loaded from the
 * checkpoint).
 */
@EnabledIfSystemProperty(named = "lora.training.out", matches = ".+")
class LoraTrainingExport {
    @Test
    void export() throws Exception {
        Path out = Path.of(System.getProperty("lora.training.out")).toAbsolutePath();
        Path work = Files.createTempDirectory("lora-training");
        Path bases = out.resolveSibling(out.getFileName() + "-bases");   // beside: the check takes every folder in out as an adapter
        Files.createDirectories(bases);
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());

        Path llamaBase = bases.resolve("llama");
        new LlamaPolicy(Tiny.model(Tiny.tokenizer(), 3)).save(llamaBase);
        Path train = Tiny.preferenceFile(work, "train.jsonl", 8, 1);
        Path ckpt = trainRun(Trainer.Mode.DPO, work.resolve("llama-run"), train, llamaBase, new String[] {
            "lora.target_modules", "[\"q_proj\", \"v_proj\", \"gate_proj\", \"down_proj\"]", "lora.r", "4", "lora.lora_alpha", "16"},
                LlamaPolicy.load(llamaBase), Tiny.tokenizer(), quiet);
        Random rng = new Random(1);
        int[] ids = new int[2 * 10];
        for (int i = 0; i < ids.length; i++) ids[i] = 3 + rng.nextInt(200);
        float[] mask = new float[ids.length];
        Arrays.fill(mask, 1f);
        mask[19] = 0;
        LlamaForCausalLM llama = LlamaForCausalLM.load(llamaBase);
        export(out, "trained_llama", ckpt, llama, m -> ((LlamaForCausalLM) m).forward(ids, 2, 10, mask), ids, 2, 10, mask, null);

        ClipTest.captions(work, 4);
        List<String> lines = new ArrayList<>();
        for (String l : Files.readAllLines(Tiny.preferenceFile(work, "plain.jsonl", 6, 3))) {
            lines.add("{\"images\": [\"img/" + (lines.size() % 4) + ".png\"], " + l.substring(1));
        }
        Path imageTrain = work.resolve("images.jsonl");
        Files.write(imageTrain, lines);
        Path llavaBase = bases.resolve("llava");
        LlavaTrainTest.tinyLlava(5).save(llavaBase);
        Path llavaCkpt = trainRun(Trainer.Mode.DPO, work.resolve("llava-run"), imageTrain, llavaBase, new String[] {
            "lora.target_modules", "[\"q_proj\", \"fc1\", \"linear_1\", \"down_proj\"]", "lora.lora_dropout", "0.1",
            "gradient_checkpointing", "true"}, LlavaPolicy.load(llavaBase), LlavaTrainTest.TOK, quiet);
        LlavaPolicy llava = LlavaPolicy.load(llavaBase);
        int f = llava.model().featuresPerImage(), t = f + 6;
        int[] vids = new int[2 * t];
        for (int i = 0; i < vids.length; i++) vids[i] = 3 + rng.nextInt(200);
        Arrays.fill(vids, 2, 2 + f, llava.model().config.imageTokenIndex);
        Arrays.fill(vids, t + 1, t + 1 + f, llava.model().config.imageTokenIndex);
        float[] vmask = new float[vids.length];
        Arrays.fill(vmask, 1f);
        vmask[vids.length - 1] = 0;
        Tensor pixels = Tensor.randn(rng, 1f, 2, 3, 16, 16);
        export(out, "trained_llava", llavaCkpt, llava.model(),
                m -> ((LlavaForConditionalGeneration) m).forward(vids, 2, t, vmask, pixels), vids, 2, t, vmask, pixels);
        System.out.println("wrote " + out);
    }

    private static Path trainRun(Trainer.Mode mode, Path run, Path train, Path base, String[] lora, PolicyModel policy,
                                 dev.aspo.models.tokenizer.Tokenizer tok, PrintStream console) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("model", base.toString());
        o.put("train_file", train.toString());
        o.put("output_dir", run.toString());
        o.put("batch_size", "2");
        o.put("max_steps", "4");
        o.put("lr", "2e-2");
        o.put("progress", "none");
        for (int i = 0; i < lora.length; i += 2) o.put(lora[i], lora[i + 1]);
        return new Trainer(mode, TrainConfig.of(o), policy, null, tok, null, console).run(null).lastCheckpoint();
    }

    private static void export(Path out, String name, Path checkpoint, Module base, java.util.function.Function<Module, Tensor> forward,
                               int[] ids, int batch, int seq, float[] mask, Tensor pixels) throws Exception {
        Path dir = out.resolve(name);
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(checkpoint)) {
            for (Path p : (Iterable<Path>) files::iterator) Files.copy(p, dir.resolve(p.getFileName()));
        }
        LoraModel lora = LoraModel.load(base, dir);
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            logits = forward.apply(base);
        }
        AutoModel.save(lora.mergeAndUnload(), out.resolve(name + ".merged"));
        long[] lids = new long[ids.length], lmask = new long[mask.length];
        for (int i = 0; i < ids.length; i++) {
            lids[i] = ids[i];
            lmask[i] = (long) mask[i];
        }
        SafeTensorsWriter w = new SafeTensorsWriter().putLong("input_ids", lids, batch, seq).put("java.logits", logits)
                .putLong("attention_mask", lmask, batch, seq);
        if (pixels != null) w.put("pixel_values", pixels);
        w.write(out.resolve(name + ".java_logits.safetensors"));
    }
}
