package dev.aspo.models.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.lora.LoraFixtures.Case;
import dev.aspo.models.nn.Linear;
import dev.aspo.tensor.io.SafeTensorsFile;
import dev.aspo.tensor.io.SafeTensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bad adapter directory is one error naming the file and what is wrong (the key, the tensor and
 * both shapes), and leaves the base model as it was: no adapter attached, nothing frozen.
 */
class LoraLoadErrorTest {
    @TempDir
    Path tmp;

    /** A copy of the llava_lists adapter, its config changed by {@code edit}. */
    private Path withConfig(Consumer<ObjectNode> edit) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("adapter"));
        Files.copy(Case.LLAVA_LISTS.dir().resolve(LoraModel.WEIGHTS_FILE), d.resolve(LoraModel.WEIGHTS_FILE));
        ObjectNode cfg = HfJson.readObject(Case.LLAVA_LISTS.dir().resolve(LoraConfig.FILE));
        edit.accept(cfg);
        HfJson.writeObject(d.resolve(LoraConfig.FILE), cfg);
        return d;
    }

    /** A copy of the llava_lists adapter whose tensors {@code edit} changes. */
    private Path withTensors(Consumer<Map<String, float[][]>> edit) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("adapter"));
        Files.copy(Case.LLAVA_LISTS.dir().resolve(LoraConfig.FILE), d.resolve(LoraConfig.FILE));
        Map<String, float[][]> t = new LinkedHashMap<>();       // name -> {values, shape as floats}
        try (SafeTensorsFile f = SafeTensorsFile.open(Case.LLAVA_LISTS.dir().resolve(LoraModel.WEIGHTS_FILE))) {
            for (String n : f.names()) {
                int[] s = f.info(n).shape();
                float[] shape = new float[s.length];
                for (int i = 0; i < s.length; i++) shape[i] = s[i];
                t.put(n, new float[][] {f.readFloatArray(n), shape});
            }
        }
        edit.accept(t);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (var e : t.entrySet()) {
            int[] s = new int[e.getValue()[1].length];
            for (int i = 0; i < s.length; i++) s[i] = (int) e.getValue()[1][i];
            w.put(e.getKey(), e.getValue()[0], s);
        }
        w.write(d.resolve(LoraModel.WEIGHTS_FILE));
        return d;
    }

    /** Loads {@code dir} onto a fresh base, expects an error, and checks the base was left as it was. */
    private String error(Path dir) throws IOException {
        LlavaForConditionalGeneration base = LlavaForConditionalGeneration.load(Case.LLAVA_LISTS.baseDir());
        Exception e = assertThrows(Exception.class, () -> LoraModel.load(base, dir));
        assertTrue(e instanceof IOException, e.toString());
        for (var m : base.namedModules().values()) if (m instanceof Linear l) assertEquals(null, l.adapter());
        for (var p : base.namedParameters().entrySet()) assertTrue(p.getValue().requiresGrad(), p.getKey() + " left frozen");
        return e.getMessage();
    }

    @Test
    void aMissingFolderOrFileIsNamed() throws IOException {
        String m = error(tmp.resolve("none"));
        assertTrue(m.startsWith(tmp.resolve("none") + ": no such folder (expected a PEFT adapter directory with adapter_config.json"
                + " and adapter_model.safetensors)"), m);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        m = error(empty);
        assertTrue(m.startsWith(empty + ": no adapter_config.json (not a PEFT adapter directory"), m);
        Path noWeights = Files.createDirectories(tmp.resolve("bin"));
        Files.copy(Case.LLAVA_LISTS.dir().resolve(LoraConfig.FILE), noWeights.resolve(LoraConfig.FILE));
        Files.writeString(noWeights.resolve("adapter_model.bin"), "pickle");
        m = error(noWeights);
        assertTrue(m.startsWith(noWeights + ": no adapter_model.safetensors (adapter_model.bin is a pickle, which is not read"), m);
    }

    @Test
    void aConfigAskingForWhatIsNotImplementedNamesTheKey() throws IOException {
        String file = tmp.resolve("adapter").resolve(LoraConfig.FILE).toString();
        assertEquals(file + ": \"peft_type\" is \"IA3\"; only LORA adapters are supported", error(withConfig(c -> c.put("peft_type", "IA3"))));
        deleteAdapter();
        assertEquals(file + ": \"use_dora\" is true; this LoRA variant is not supported", error(withConfig(c -> c.put("use_dora", true))));
        deleteAdapter();
        assertEquals(file + ": \"bias\" is \"all\"; only \"none\" is supported (no trained biases)",
                error(withConfig(c -> c.put("bias", "all"))));
        deleteAdapter();
        assertEquals(file + ": \"rank_pattern\" is {\"q_proj\":8}; this LoRA variant is not supported",
                error(withConfig(c -> c.set("rank_pattern", HfJson.object().put("q_proj", 8)))));
        deleteAdapter();
        assertEquals(file + ": \"target_modules\" is missing (which modules the adapter is on)",
                error(withConfig(c -> c.remove("target_modules"))));
        deleteAdapter();
        assertEquals(file + ": \"r\" must be an integer, got \"4\"", error(withConfig(c -> c.put("r", "4"))));
        deleteAdapter();
        assertEquals(file + ": lora_dropout must be in [0, 1), got 1.0", error(withConfig(c -> c.put("lora_dropout", 1.0))));
        deleteAdapter();
        String m = error(withConfig(c -> c.put("target_modules", "(q_proj")));
        assertTrue(m.startsWith(file + ": \"target_modules\": not a valid regular expression: \"(q_proj\""), m);
        deleteAdapter();
        m = error(withConfig(c -> c.putArray("target_modules").add("query_key_value")));
        assertTrue(m.startsWith(file + ": LoRA: target_modules [query_key_value] match no linear layer of this"
                + " LlavaForConditionalGeneration"), m);
    }

    @Test
    void tensorsThatDoNotFitAreNamedWithTheirShapes() throws IOException {
        String q = "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight";
        String file = tmp.resolve("adapter").resolve(LoraModel.WEIGHTS_FILE).toString();
        assertEquals(file + ": the tensors do not fit the model and adapter_config.json; wrong shape [" + q
                + " [8, 16] (expected [4, 16] from the adapter config)]", error(withTensors(t -> t.put(q, new float[][] {new float[128],
                        {8, 16}}))));
        deleteAdapter();
        assertEquals(file + ": the tensors do not fit the model and adapter_config.json; missing [" + q + "]",
                error(withTensors(t -> t.remove(q))));
        deleteAdapter();
        assertEquals(file + ": the tensors do not fit the model and adapter_config.json; unexpected"
                + " [base_model.model.model.language_model.layers.0.self_attn.k_proj.lora_A.weight]",
                error(withTensors(t -> t.put(q.replace("q_proj", "k_proj"), t.get(q)))));
        deleteAdapter();
        String m = error(withTensors(t -> t.get(q)[0][5] = Float.NaN));
        assertTrue(m.startsWith(file + ": tensor " + q + " holds 1 non-finite value (NaN at flat index 5)"), m);
    }

    @Test
    void anAdapterForAnotherModelDoesNotLoad() throws IOException {
        LlamaForCausalLM llama = LlamaForCausalLM.load(Case.LLAMA_ALL_LINEAR.baseDir());
        IOException e = assertThrows(IOException.class, () -> LoraModel.load(llama, Case.LLAVA_REGEX_RSLORA.dir()));
        assertTrue(e.getMessage().contains("match no linear layer of this LlamaForCausalLM"), e.getMessage());
        // same suffixes, other sizes: the shapes say so
        LlavaForConditionalGeneration tied = LlavaForConditionalGeneration.load(Case.LLAVA_REGEX_RSLORA.baseDir());
        e = assertThrows(IOException.class, () -> LoraModel.load(tied, Case.LLAVA_LISTS.dir()));
        assertTrue(e.getMessage().contains("unexpected [base_model.model.lm_head"), e.getMessage());
    }

    private void deleteAdapter() throws IOException {
        Path d = tmp.resolve("adapter");
        try (var s = Files.list(d)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(d);
    }
}
