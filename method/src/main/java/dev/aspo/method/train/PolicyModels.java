package dev.aspo.method.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Loads a policy from an HF directory by its {@code config.json}'s {@code model_type}. */
public final class PolicyModels {
    private PolicyModels() {}

    public static PolicyModel load(Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IllegalArgumentException(dir + ": no config.json (expected an HF model directory)");
        JsonNode root = new ObjectMapper().readTree(config.toFile());
        String type = root.path("model_type").asText("");
        return switch (type) {
            case "llama" -> LlamaPolicy.load(dir);
            case "llava" -> LlavaPolicy.load(dir);
            default -> throw new IllegalArgumentException(config + ": model_type \"" + type
                    + "\" cannot be trained as a policy yet (supported: llama, llava)");
        };
    }
}
