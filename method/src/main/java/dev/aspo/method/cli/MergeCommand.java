package dev.aspo.method.cli;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.hf.HfJson;
import dev.aspo.models.lora.LoraModel;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.io.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo merge}: a LoRA adapter (as PEFT or this engine saves it) folded into its base model,
 * as PEFT's {@code merge_and_unload()} + {@code save_pretrained}: every adapted weight becomes
 * {@code W + scaling * B A}, and the result is a plain model directory (config.json +
 * model.safetensors, F32, transformers 5.17's layout) that transformers and every command here
 * load. The base's tokenizer, processor and generation files are copied along, so the merged
 * folder works with {@code aspo generate} as the base did. {@code --out} must be new or empty:
 * the folder appears complete or not at all, and nothing in an existing one is overwritten.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a LoRA adapter (adapter_config.json + adapter_model.safetensors, PEFT's format) into its base model and "
                + "save the merged model as a new model directory.")
final class MergeCommand implements Callable<Integer> {
    /** What a model folder holds besides its weights and config, copied from the base when present. */
    static final List<String> COMPANION_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "preprocessor_config.json", "processor_config.json", "chat_template.json", "chat_template.jinja",
            "generation_config.json");

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "BASE", description = "the base model directory the adapter was trained on")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "the adapter directory (PEFT's save_pretrained layout)")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR2", description = "the merged model's directory (must not exist, or be empty)")
    Path out;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " is a file; give a new folder");
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("--out " + out + " is not empty; merge writes a new model folder and never"
                            + " overwrites one: give a new or empty folder");
                }
            }
        }
        Module base = AutoModel.load(model);
        LoraModel lora = LoraModel.load(base, adapter);
        int layers = lora.layers().size();
        Module merged = lora.mergeAndUnload();

        Path target = out.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path staging = HfJson.sibling(target, ".tmp");
        try {
            AutoModel.save(merged, staging);
            List<String> copied = new ArrayList<>();
            for (String f : COMPANION_FILES) {
                if (Files.isRegularFile(model.resolve(f))) {
                    Files.copy(model.resolve(f), staging.resolve(f));
                    copied.add(f);
                }
            }
            Files.deleteIfExists(target);        // an empty folder (checked above) gives way to the complete one
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            spec.commandLine().getOut().println("merged " + layers + " LoRA layer" + (layers == 1 ? "" : "s") + " of " + adapter
                    + " into " + AutoModel.modelType(merged) + " model " + model + " -> " + out
                    + (copied.isEmpty() ? "" : " (with " + String.join(", ", copied) + ")"));
            spec.commandLine().getOut().flush();
            return 0;
        } finally {
            FileTrees.deleteTree(staging);
        }
    }

}
