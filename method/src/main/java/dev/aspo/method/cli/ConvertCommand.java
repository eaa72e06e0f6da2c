package dev.aspo.method.cli;

import dev.aspo.models.hf.AutoModel;
import dev.aspo.models.nn.Module;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code aspo convert}: loads a model directory in any layout and dtype this engine reads (one
 * model.safetensors or an index and its shards) and saves it again as this engine writes it (F32,
 * transformers 5.17's names and config.json), which transformers loads with the same outputs;
 * with {@code --max-shard-size}, split into shards exactly as {@code save_pretrained} splits them.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Load a Hugging Face model directory (llava, llama, clip, clip_vision_model; any layout and F32/F16/BF16; "
                + "model.safetensors or sharded) and save it again as config.json + model.safetensors (F32, transformers 5.17's "
                + "layout), or as shards + model.safetensors.index.json with --max-shard-size.")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "the model directory to read")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR2", description = "the directory to write (created; files in it replaced)")
    Path out;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", converter = ShardSizeConverter.class,
            description = "split the weights into shards of at most SIZE (e.g. 5GB, 500MB: decimal units as transformers reads"
                    + " them, or bytes) plus model.safetensors.index.json, as save_pretrained(max_shard_size=SIZE) does;"
                    + " a tensor larger than SIZE gets a shard of its own. Default: one model.safetensors")
    long maxShardBytes = ShardSize.UNLIMITED;

    /** {@link ShardSize#parse}, its message becoming picocli's "Invalid value" error. */
    static final class ShardSizeConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return ShardSize.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() throws IOException {
        Module m = AutoModel.load(model);
        AutoModel.save(m, out, maxShardBytes);
        spec.commandLine().getOut().println("converted " + AutoModel.modelType(m) + " model " + model + " -> " + out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
