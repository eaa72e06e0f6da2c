package dev.aspo.models.lora;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import java.util.function.UnaryOperator;

/**
 * Between our module paths and the names transformers gives the same modules in memory, which
 * are what PEFT matches {@code target_modules} against and what its adapter files are keyed by
 * ({@code base_model.model.<module>.lora_A.weight}).
 *
 * <pre>
 *   model        ours                                   transformers 5.x in memory (written)     also read (4.x)
 *   llava        language_model.model.layers.0.mlp...   model.language_model.layers.0.mlp...     language_model.model.layers.0...
 *                language_model.lm_head                 lm_head                                  language_model.lm_head
 *                vision_tower.encoder.layers.0...       model.vision_tower.encoder.layers.0...   vision_tower.vision_model.encoder...
 *                multi_modal_projector.linear_1         model.multi_modal_projector.linear_1     multi_modal_projector.linear_1
 *   llama, clip  the same names
 *   clip vision  vision_model.encoder.layers.0...       encoder.layers.0...                      vision_model.encoder.layers.0...
 * </pre>
 */
final class PeftNames {
    /** What PEFT puts before a module name in an adapter file ({@code PeftModel.base_model.model}). */
    static final String FILE_PREFIX = "base_model.model.";

    private final UnaryOperator<String> toPeft, fromPeft;
    /** Our path of the language model's output layer ("all-linear" leaves it out), or null. */
    final String outputLayer;
    private final String modelClass, library;

    private PeftNames(UnaryOperator<String> toPeft, UnaryOperator<String> fromPeft, String outputLayer, String modelClass,
                      String library) {
        this.toPeft = toPeft;
        this.fromPeft = fromPeft;
        this.outputLayer = outputLayer;
        this.modelClass = modelClass;
        this.library = library;
    }

    static PeftNames of(Module model) {
        if (model instanceof LlavaForConditionalGeneration) {
            return new PeftNames(PeftNames::llavaToPeft, PeftNames::llavaFromPeft, "language_model.lm_head",
                    "LlavaForConditionalGeneration", "transformers.models.llava.modeling_llava");
        }
        if (model instanceof LlamaForCausalLM) {
            return new PeftNames(n -> n, n -> n, "lm_head", "LlamaForCausalLM", "transformers.models.llama.modeling_llama");
        }
        if (model instanceof ClipModel) {
            return new PeftNames(n -> n, n -> n, null, "CLIPModel", "transformers.models.clip.modeling_clip");
        }
        if (model instanceof ClipVisionModel) {
            String p = "vision_model.";
            return new PeftNames(n -> n.startsWith(p) ? n.substring(p.length()) : null, n -> n.startsWith(p) ? n : p + n, null,
                    "CLIPVisionModel", "transformers.models.clip.modeling_clip");
        }
        throw new IllegalArgumentException("LoRA: " + model.getClass().getSimpleName()
                + " is not a model LoRA adapters can be put on (llava, llama, clip, clip_vision_model)");
    }

    /** Transformers' in-memory name of our module {@code path}, or null when transformers has no such module. */
    String toPeft(String path) {
        return toPeft.apply(path);
    }

    /** Our module path for a module name PEFT wrote (5.x or 4.x layout). */
    String fromPeft(String name) {
        return fromPeft.apply(name);
    }

    /** PEFT's {@code auto_mapping}: the transformers class of the base model. */
    ObjectNode autoMapping() {
        ObjectNode o = HfJson.object();
        o.put("base_model_class", modelClass);
        o.put("parent_library", library);
        return o;
    }

    private static String llavaToPeft(String path) {
        String lm = "language_model.";
        if (path.equals("language_model.lm_head")) return "lm_head";
        if (path.equals("language_model.model")) return "model.language_model";
        if (path.startsWith(lm + "model.")) return "model.language_model." + path.substring((lm + "model.").length());
        if (path.startsWith(lm) || path.equals("language_model")) return null;    // no such level in transformers 5.x
        return "model." + path;
    }

    private static String llavaFromPeft(String name) {
        // LLaVA's checkpoint-layout mapping works on tensor names: give it one and take the suffix off again
        String mapped = LlavaForConditionalGeneration.parameterName(name + ".weight");
        return mapped == null ? name : mapped.substring(0, mapped.length() - ".weight".length());
    }
}
