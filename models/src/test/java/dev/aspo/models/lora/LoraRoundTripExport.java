package dev.aspo.models.lora;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.lora.LoraFixtures.Case;
import dev.aspo.models.lora.LoraFixtures.Inputs;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: the Java half of the by-hand check that an adapter written by {@link LoraModel#save}
 * loads in PEFT ({@code PeftModel.from_pretrained(base, dir)}, no missing or unexpected key, no
 * warning) with the same logits, and that the merged model loads in transformers with them too.
 * Runs only when asked:
 *
 * <pre>
 *   mvn -B -q -o test -pl models -am -Dtest=LoraRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \
 *       -Dlora.roundtrip.out=/tmp/lora-roundtrip
 *   /work/venv-fixtures/bin/python models/src/test/python/check_lora_roundtrip.py /tmp/lora-roundtrip
 * </pre>
 *
 * Writes, per case, our adapter ({@code <name>/}, its {@code base_model_name_or_path} the base
 * fixture's absolute path), the merged model ({@code <name>.merged/}, as {@code aspo merge} writes
 * it) and {@code <name>.java_logits.safetensors} (the inputs and our logits).
 */
@EnabledIfSystemProperty(named = "lora.roundtrip.out", matches = ".+")
class LoraRoundTripExport {
    @Test
    void export() throws Exception {
        Path out = Path.of(System.getProperty("lora.roundtrip.out"));
        Files.createDirectories(out);
        TargetModules lists = TargetModules.names("q_proj", "v_proj", "o_proj", "down_proj", "linear_1", "linear_2", "lm_head");
        export(out, "llava_lists", Case.LLAVA_LISTS, LoraConfig.of(4, 8, lists).withDropout(0.1).withTaskType("CAUSAL_LM"));
        export(out, "llava_regex_rslora", Case.LLAVA_REGEX_RSLORA, LoraConfig.of(2, 4,
                TargetModules.regex(".*language_model.*\\.(q_proj|k_proj|gate_proj|up_proj)|.*multi_modal_projector\\.linear_2"))
                .withRslora(true).withExcludeModules(TargetModules.names("layers.1.mlp.up_proj")));
        export(out, "llava_all_linear", Case.LLAVA_LISTS, LoraConfig.of(8, 16, TargetModules.regex("all-linear")));
        export(out, "llama_all_linear", Case.LLAMA_ALL_LINEAR, LoraConfig.of(4, 16, TargetModules.regex("all-linear"))
                .withTaskType("CAUSAL_LM"));
        System.out.println("wrote " + out);
    }

    private static void export(Path out, String name, Case c, LoraConfig config) throws Exception {
        Module base = c.loadBase();
        LoraModel lora = LoraModel.inject(base, config.withBaseModel(c.baseDir().toAbsolutePath().toString()), name.hashCode());
        Random rng = new Random(name.hashCode() + 1L);
        for (Tensor p : lora.trainableParameters().values()) {
            float[] v = Tensor.randn(rng, 0.2f, p.shape()).toFloatArray();
            p.backend().copy2d(Tensor.of(v, p.shape()).storage(), 0, p.numel(), p.storage(), 0, p.numel(), 1, p.numel(), false);
        }
        Inputs in = c.inputs();
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            logits = in.logits(base);
        }
        lora.save(out.resolve(name));
        AutoModel.save(lora.mergeAndUnload(), out.resolve(name + ".merged"));
        long[] ids = new long[in.ids().length];
        for (int i = 0; i < ids.length; i++) ids[i] = in.ids()[i];
        SafeTensorsWriter w = new SafeTensorsWriter().putLong("input_ids", ids, in.batch(), in.seq()).put("java.logits", logits);
        if (in.pixels() != null) w.put("pixel_values", in.pixels());
        if (in.mask() != null) {
            long[] mask = new long[in.mask().length];
            for (int i = 0; i < mask.length; i++) mask[i] = (long) in.mask()[i];
            w.putLong("attention_mask", mask, in.batch(), in.seq());
        }
        w.write(out.resolve(name + ".java_logits.safetensors"));
    }
}
