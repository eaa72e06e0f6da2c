package dev.aspo.models.clip;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.Weights;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * HF's {@code CLIPVisionModel} (model_type {@code clip_vision_model}): the vision tower alone, its
 * parameters under {@code vision_model.*}.
 *
 * <p>Checkpoint layouts: transformers 5.x's {@code save_pretrained} writes this model's tensors
 * without the prefix ({@code embeddings.*}, {@code encoder.*}, ...), 4.x with it; {@link #load}
 * takes both, and also a full {@code clip} directory (its {@code vision_config} and
 * {@code vision_model.*} tensors, the rest skipped), as {@code CLIPVisionModel.from_pretrained}
 * does. {@link #save} writes the prefixed names, which both transformers generations load.
 */
public final class ClipVisionModel extends Module {
    static final String PREFIX = "vision_model.";

    public final ClipVisionTransformer visionModel;
    private final ClipVisionConfig config;

    public ClipVisionModel(ClipVisionConfig config) {
        this.config = config;
        this.visionModel = child("vision_model", new ClipVisionTransformer(config));
    }

    public ClipVisionConfig config() {
        return config;
    }

    public static ClipVisionModel random(ClipVisionConfig config, long seed) {
        ClipVisionModel m = new ClipVisionModel(config);
        m.initWeights(new Random(seed));
        return m;
    }

    public void initWeights(Random rng) {
        visionModel.initWeights(rng, config.initializerFactor());
    }

    /**
     * The {@link ClipVisionTransformer} parameter a checkpoint tensor of a vision tower goes to, given
     * its name below the tower's prefix (e.g. after {@code vision_tower.} in a LLaVA checkpoint):
     * transformers 4.x wrote {@code vision_model.embeddings...}, 5.x writes {@code embeddings...};
     * both map to {@code embeddings...}. Null for the {@code position_ids} buffers of old checkpoints.
     */
    public static String towerParameterName(String nameBelowTower) {
        if (ClipCheckpoint.isBuffer(nameBelowTower)) return null;
        return nameBelowTower.startsWith(PREFIX) ? nameBelowTower.substring(PREFIX.length()) : nameBelowTower;
    }

    /** Loads a {@code clip_vision_model} directory, or the vision tower of a {@code clip} one. */
    public static ClipVisionModel load(Path dir) throws IOException {
        return load(dir, Precision.FLOAT32);
    }

    /**
     * As {@link #load(Path)}, with the weight matrices held frozen in {@code dtype} ({@link
     * Module#matricesIn}): in bfloat16 or float16 they take half the bytes and are never float32 on
     * the heap (a checkpoint stored in that dtype is read bit for bit); norms and biases stay float32.
     */
    public static ClipVisionModel load(Path dir, Precision dtype) throws IOException {
        Path file = ClipCheckpoint.configFile(dir);
        ObjectNode root = ClipJson.readObject(file);
        if (!root.has("model_type")) throw new IOException(file + ": key model_type is missing");
        String type = root.get("model_type").asText();
        Function<String, String> map;
        ClipVisionConfig vc;
        if (type.equals(ClipVisionConfig.MODEL_TYPE)) {
            vc = ClipVisionConfig.fromJson(root, file, "");
            map = n -> {
                String t = towerParameterName(n);
                return t == null ? null : PREFIX + t;
            };
        } else if (type.equals(ClipConfig.MODEL_TYPE)) {
            vc = ClipConfig.fromJson(root, file).visionConfig();
            map = n -> n.startsWith(PREFIX) && !ClipCheckpoint.isBuffer(n) ? n : null;
        } else {
            throw new IOException(file + ": key model_type is '" + type + "', expected '" + ClipVisionConfig.MODEL_TYPE
                    + "' or '" + ClipConfig.MODEL_TYPE + "'");
        }
        ClipVisionModel m;
        try (var s = Module.matricesIn(dtype)) {
            m = new ClipVisionModel(vc);
        }
        Weights.load(m, dir, map);
        return m;
    }

    /** Writes a {@code clip_vision_model} directory (F32, tensors under {@code vision_model.*}). */
    public void save(Path dir) throws IOException {
        save(dir, ShardSize.UNLIMITED);
    }

    /** As {@link #save(Path)}, in shards of at most {@code maxShardBytes} (and an index) when the weights exceed it. */
    public void save(Path dir, long maxShardBytes) throws IOException {
        ClipCheckpoint.save(dir, config.toJson(), "CLIPVisionModel", this, maxShardBytes);
    }

    public ClipVisionOutput forward(Tensor pixelValues) {
        return visionModel.forward(pixelValues);
    }

    public List<Tensor> hiddenStates(Tensor pixelValues) {
        return visionModel.hiddenStates(pixelValues);
    }

    public Tensor pooled(Tensor pixelValues) {
        return visionModel.pooled(pixelValues);
    }
}
