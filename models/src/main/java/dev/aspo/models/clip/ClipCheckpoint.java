package dev.aspo.models.clip;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Module;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes and reads a {@code save_pretrained}-style directory: {@code config.json} and
 * {@code model.safetensors} (F32), or shards and their index when the weights exceed a shard
 * size. Written by {@link Weights#saveDirectory}: a new directory appears complete; in an existing
 * one the weights replace the old ones first and config.json is the last thing to change.
 */
final class ClipCheckpoint {
    static final String CONFIG = "config.json";

    private ClipCheckpoint() {}

    /** {@code position_ids} buffers are in older checkpoints; they are derived, not loaded. */
    static boolean isBuffer(String name) {
        return name.endsWith("embeddings.position_ids");
    }

    static void save(Path dir, ObjectNode config, String architecture, Module module, long maxShardBytes) throws IOException {
        ObjectNode json = config.deepCopy();
        json.set("architectures", JsonNodeFactory.instance.arrayNode().add(architecture));
        json.remove("torch_dtype");         // the weights are written as F32 whatever the source was
        json.put("dtype", "float32");
        for (String sub : new String[] {"text_config", "vision_config"}) {
            if (json.get(sub) instanceof ObjectNode o && (o.has("dtype") || o.has("torch_dtype"))) {
                o.remove("torch_dtype");    // transformers builds sub-models in their sub-config's dtype
                o.put("dtype", "float32");
            }
        }
        ObjectNode sorted = ClipJson.sorted(new java.util.TreeMap<>(), json);
        Weights.saveDirectory(module, dir, d -> ClipJson.writeAtomically(sorted, d.resolve(CONFIG)), maxShardBytes);
    }

    static Path configFile(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException(dir + ": not a directory");
        return dir.resolve(CONFIG);
    }
}
