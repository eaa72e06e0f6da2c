package dev.aspo.method.cli;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.nn.Module;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo convert}: loads a model directory in any layout and dtype this engine reads and
 * saves it again as this engine writes it (F32, transformers 5.17's names and config.json), which
 * transformers loads with the same outputs.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Load a Hugging Face model directory (llava, llama, clip, clip_vision_model; any layout and F32/F16/BF16) "
                + "and save it again as config.json + model.safetensors (F32, transformers 5.17's layout).")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory to read")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR2", description = "the directory to write (created; files in it replaced)")
    Path out;

    @Override
    public Integer call() throws IOException {
        Module m = AutoModel.load(model);
        AutoModel.save(m, out);
        spec.commandLine().getOut().println("converted " + AutoModel.modelType(m) + " model " + model + " -> " + out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
