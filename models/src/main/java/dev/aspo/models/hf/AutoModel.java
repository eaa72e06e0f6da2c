package dev.aspo.models.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.aspo.models.clip.ClipConfig;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.clip.ClipVisionConfig;
import dev.aspo.models.clip.ClipVisionModel;
import dev.aspo.models.llama.LlamaConfig;
import dev.aspo.models.llama.LlamaForCausalLM;
import dev.aspo.models.llava.LlavaConfig;
import dev.aspo.models.llava.LlavaForConditionalGeneration;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Loads a Hugging Face model directory as the class its {@code config.json}'s {@code model_type}
 * names, as transformers' {@code AutoModel*} classes do:
 *
 * <pre>
 *   llava              {@link LlavaForConditionalGeneration}
 *   llama              {@link LlamaForCausalLM}
 *   clip               {@link ClipModel}
 *   clip_vision_model  {@link ClipVisionModel}
 * </pre>
 *
 * Anything else is one error naming the type found and the supported ones.
 */
public final class AutoModel {
    private AutoModel() {}

    /** The model types this engine loads, in the order above. */
    public static final List<String> MODEL_TYPES = List.of(LlavaConfig.MODEL_TYPE, LlamaConfig.MODEL_TYPE,
            ClipConfig.MODEL_TYPE, ClipVisionConfig.MODEL_TYPE);

    /** The {@code model_type} of {@code dir/config.json}, checked to be one of {@link #MODEL_TYPES}. */
    public static String modelType(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException(dir + ": not a directory (expected a model directory with config.json)");
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new IOException(dir + ": no config.json (not a Hugging Face model directory)");
        JsonNode type = HfJson.readObject(file).get("model_type");
        if (type == null || type.isNull()) {
            throw new IOException(file + ": \"model_type\" is missing (expected one of " + String.join(", ", MODEL_TYPES) + ")");
        }
        if (!type.isTextual() || !MODEL_TYPES.contains(type.textValue())) {
            throw new IOException(file + ": model_type " + type + " is not supported (supported: "
                    + String.join(", ", MODEL_TYPES) + ")");
        }
        return type.textValue();
    }

    /** The model in {@code dir}, as the class its model type names. */
    public static Module load(Path dir) throws IOException {
        return load(dir, Precision.FLOAT32);
    }

    /**
     * The model in {@code dir} with its weight matrices held frozen in {@code dtype} (bfloat16 or
     * float16: half the bytes, never float32 on the heap; see {@link Module#matricesIn}).
     */
    public static Module load(Path dir, Precision dtype) throws IOException {
        switch (modelType(dir)) {
            case LlavaConfig.MODEL_TYPE: return LlavaForConditionalGeneration.load(dir, dtype);
            case LlamaConfig.MODEL_TYPE: return LlamaForCausalLM.load(dir, dtype);
            case ClipConfig.MODEL_TYPE: return ClipModel.load(dir, dtype);
            case ClipVisionConfig.MODEL_TYPE: return ClipVisionModel.load(dir, dtype);
            default: throw new AssertionError("unreachable: modelType checked the type");
        }
    }

    /** The {@code model_type} of a model {@link #load} returns. */
    public static String modelType(Module model) {
        if (model instanceof LlavaForConditionalGeneration) return LlavaConfig.MODEL_TYPE;
        if (model instanceof LlamaForCausalLM) return LlamaConfig.MODEL_TYPE;
        if (model instanceof ClipModel) return ClipConfig.MODEL_TYPE;
        if (model instanceof ClipVisionModel) return ClipVisionConfig.MODEL_TYPE;
        throw new IllegalArgumentException(model.getClass().getSimpleName() + " is not a Hugging Face model class this engine saves");
    }

    /** Writes {@code model} into {@code dir} with its class's {@code save} (config.json + model.safetensors). */
    public static void save(Module model, Path dir) throws IOException {
        save(model, dir, ShardSize.UNLIMITED);
    }

    /**
     * Writes {@code model} into {@code dir} with its class's {@code save}: config.json and the
     * weights, in shards of at most {@code maxShardBytes} plus {@code model.safetensors.index.json}
     * when they exceed it ({@link ShardSize#UNLIMITED}: one model.safetensors).
     */
    public static void save(Module model, Path dir, long maxShardBytes) throws IOException {
        if (model instanceof LlavaForConditionalGeneration m) m.save(dir, maxShardBytes);
        else if (model instanceof LlamaForCausalLM m) m.save(dir, maxShardBytes);
        else if (model instanceof ClipModel m) m.save(dir, maxShardBytes);
        else if (model instanceof ClipVisionModel m) m.save(dir, maxShardBytes);
        else throw new IllegalArgumentException(model.getClass().getSimpleName() + " is not a Hugging Face model class this engine saves");
    }
}
