package dev.aspo.models.hf;

import dev.aspo.models.nn.Module;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.cpu.HalfStorage;
import dev.aspo.tensor.io.FileTrees;
import dev.aspo.tensor.io.CheckpointFiles;
import dev.aspo.tensor.io.SafeTensorsCheckpoint;
import dev.aspo.tensor.io.SafeTensorsWriter;
import dev.aspo.tensor.io.ShardSize;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Moves a {@link Module}'s parameters to and from Hugging Face safetensors checkpoints, in one
 * {@code model.safetensors} or sharded ({@code model.safetensors.index.json} and
 * {@code model-0000i-of-0000n.safetensors}, as transformers writes large models).
 *
 * <p>Names in the file go through a mapping to the module's names (checkpoint layouts differ
 * between transformers versions and hubs); a mapping that returns null skips the tensor (buffers
 * such as {@code rotary_emb.inv_freq}). Tensors are read one at a time from the memory-mapped
 * file or shard and copied into the module's parameters, so loading never holds a second full
 * copy of the weights. Everything wrong (missing, unexpected, mis-shaped) is reported in one error.
 */
public final class Weights {
    private Weights() {}

    /** The file name {@code save_pretrained} uses for a single-file checkpoint. */
    public static final String FILE = CheckpointFiles.SINGLE;

    /** The index {@code save_pretrained} writes beside the shards of a sharded checkpoint. */
    public static final String INDEX = CheckpointFiles.INDEX;

    /** The model configuration file of a checkpoint directory. */
    public static final String CONFIG = "config.json";

    /**
     * Loads the checkpoint at {@code path} into {@code module}: a safetensors file, or a folder's
     * {@code model.safetensors} or index and shards (resolved by {@link SafeTensorsCheckpoint}).
     */
    public static void load(Module module, Path path, Function<String, String> fileToModule) throws IOException {
        try (SafeTensorsCheckpoint st = SafeTensorsCheckpoint.open(path)) {
            Map<String, Tensor> params = module.namedParameters();
            Set<String> loaded = new LinkedHashSet<>();
            List<String> unexpected = new ArrayList<>(), misShaped = new ArrayList<>();
            for (String name : st.names()) {          // check every tensor before copying anything
                String target = fileToModule.apply(name);
                if (target == null) continue;
                Tensor p = params.get(target);
                if (p == null) {
                    unexpected.add(name);
                } else if (!Arrays.equals(p.shape(), st.info(name).shape())) {
                    loaded.add(target);     // present, reported as mis-shaped rather than missing
                    misShaped.add(name + " " + Arrays.toString(st.info(name).shape()) + " (model: "
                            + Arrays.toString(p.shape()) + ")");
                } else if (!loaded.add(target)) {
                    unexpected.add(name + " (a second tensor for " + target + ")");
                }
            }
            Set<String> missing = new TreeSet<>(params.keySet());
            missing.removeAll(loaded);
            if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty()) {
                StringBuilder sb = new StringBuilder(path + ": the checkpoint does not fit the model");
                if (!missing.isEmpty()) sb.append("; missing ").append(missing);
                if (!unexpected.isEmpty()) sb.append("; unexpected ").append(unexpected);
                if (!misShaped.isEmpty()) sb.append("; wrong shape ").append(misShaped);
                throw new IOException(sb.toString());
            }
            for (String name : st.names()) {
                String target = fileToModule.apply(name);
                if (target == null) continue;
                Precision p = params.get(target).precision();    // a frozen 16-bit matrix is read unwidened
                Tensor values = p == Precision.FLOAT32 ? st.readFloat(name) : st.readHalf(name, p);
                module.copyFrom(target, requireFinite(st.file(name), name, values));
            }
        }
    }

    /**
     * {@code t}, if all its values are finite: a NaN or infinite weight makes every output NaN, and
     * a command would otherwise finish "successfully" with NaN logits.
     */
    public static Tensor requireFinite(Path file, String name, Tensor t) throws IOException {
        // a 16-bit tensor is scanned in its own bits (widening all of it would double it on the heap)
        HalfStorage h = t.storageOfAnyPrecision() instanceof HalfStorage s ? s : null;
        if (h != null && h.firstNonFinite() < 0) return t;
        float[] v = t.toFloatArray();
        int first = -1, count = 0;
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                if (first < 0) first = i;
                count++;
            }
        }
        if (first >= 0) {
            throw new IOException(file + ": tensor " + name + " holds " + count + " non-finite value" + (count == 1 ? "" : "s")
                    + " (" + v[first] + " at flat index " + first + "); the weights are damaged or come from a run that diverged");
        }
        return t;
    }

    /** Writes every parameter of {@code module} as F32 under {@code moduleToFile(name)} into one file, atomically. */
    public static void save(Module module, Path file, Function<String, String> moduleToFile) throws IOException {
        Map<String, Tensor> named = new LinkedHashMap<>();
        for (var e : module.namedParameters().entrySet()) named.put(moduleToFile.apply(e.getKey()), e.getValue());
        save(named, file);
    }

    /** Writes {@code tensors} as F32 under their names (metadata {@code format: pt}, as torch's savers), atomically. */
    public static void save(Map<String, Tensor> tensors, Path file) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (var e : tensors.entrySet()) w.put(e.getKey(), e.getValue());
        w.metadata("format", "pt");
        w.write(file);
    }

    /** Every parameter of {@code module} as F32 under its own name, with the metadata transformers writes. */
    private static SafeTensorsWriter writer(Module module) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (var e : module.namedParameters().entrySet()) w.put(e.getKey(), e.getValue());
        return w.metadata("format", "pt");
    }

    /** Writes a model's {@code config.json} into a folder. */
    @FunctionalInterface
    public interface ConfigWriter {
        void writeInto(Path dir) throws IOException;
    }

    /** {@link #saveDirectory(Module, Path, ConfigWriter, long)} in one {@code model.safetensors}. */
    public static void saveDirectory(Module module, Path dir, ConfigWriter config) throws IOException {
        saveDirectory(module, dir, config, ShardSize.UNLIMITED);
    }

    /**
     * Writes {@code config.json} (through {@code config}) and the weights (every parameter, F32,
     * under its own name) into {@code dir}: one {@code model.safetensors}, or, when they exceed
     * {@code maxShardBytes}, shards and {@code model.safetensors.index.json} split as transformers'
     * {@code save_pretrained(max_shard_size=...)} splits them. A new directory appears complete or
     * not at all (written under a temporary name, then renamed). Into an existing one, the weights
     * replace the checkpoint there in either layout without ever leaving a mix of the two (see
     * {@link CheckpointFiles#install}), then config.json is replaced; other files are left alone.
     */
    public static void saveDirectory(Module module, Path dir, ConfigWriter config, long maxShardBytes) throws IOException {
        writeDirectory(dir, tmp -> {
            writer(module).writeCheckpoint(tmp, maxShardBytes);
            config.writeInto(tmp);
        }, (tmp, target) -> {
            CheckpointFiles.install(tmp, target);
            Files.move(tmp.resolve(CONFIG), target.resolve(CONFIG), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        });
    }

    /**
     * The same for named tensors written to one {@code weightsFile}, with {@code config} writing
     * {@code configFile} (a PEFT adapter's {@code adapter_model.safetensors} and
     * {@code adapter_config.json}); into an existing directory each file is replaced atomically,
     * weights first.
     */
    public static void saveDirectory(Map<String, Tensor> tensors, Path dir, String weightsFile, String configFile,
                                     ConfigWriter config) throws IOException {
        writeDirectory(dir, tmp -> {
            save(tensors, tmp.resolve(weightsFile));
            config.writeInto(tmp);
        }, (tmp, target) -> {
            for (String f : new String[] {weightsFile, configFile}) {
                Files.move(tmp.resolve(f), target.resolve(f), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        });
    }

    private interface DirectoryWriter {
        void write(Path dir) throws IOException;
    }

    private interface Installer {
        void install(Path written, Path target) throws IOException;
    }

    /**
     * Writes a directory under a temporary name next to {@code dir}; a new {@code dir} appears by one
     * rename, complete or not at all; an existing one gets the files through {@code intoExisting}.
     */
    private static void writeDirectory(Path dir, DirectoryWriter write, Installer intoExisting) throws IOException {
        Path target = dir.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path tmp = Files.createDirectory(HfJson.sibling(target, ".tmp"));
        try {
            write.write(tmp);
            if (!Files.exists(target)) {
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    return;
                } catch (AtomicMoveNotSupportedException | FileAlreadyExistsException e) {
                    Files.createDirectories(target);     // fall through to per-file replacement
                }
            }
            intoExisting.install(tmp, target);
        } finally {
            FileTrees.deleteTree(tmp);
        }
    }


    /**
     * Refuses a config whose sizes need more weights than the checkpoint holds, before the model is
     * made: a mistyped {@code num_hidden_layers: 100000000} or {@code hidden_size} would otherwise
     * allocate until the heap runs out. {@code atLeast} is a lower bound of the weights the config's
     * sizes ({@code sizes}, e.g. {@code "num_hidden_layers 2, hidden_size 16"}) imply: only the large
     * matrices every such checkpoint stores. Only the safetensors headers are read.
     */
    public static void requireStored(Path dir, Path config, double atLeast, String sizes) throws IOException {
        long stored = 0;
        List<Path> files;
        try (SafeTensorsCheckpoint st = SafeTensorsCheckpoint.open(dir)) {
            for (String name : st.names()) stored += st.info(name).numel();
            files = st.files();
        }
        if (atLeast > stored) {
            throw new IOException(config + ": " + sizes + " need at least " + String.format(java.util.Locale.ROOT, "%.3g", atLeast)
                    + " weights, but " + (files.size() == 1 ? files.get(0) : files.size() + " shards in " + dir) + " hold " + stored
                    + ": the config does not describe this checkpoint (a size key is wrong)");
        }
    }
}
