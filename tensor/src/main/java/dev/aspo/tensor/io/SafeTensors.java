package dev.aspo.tensor.io;

import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Entry points for safetensors files (https://github.com/huggingface/safetensors): read with
 * {@link SafeTensorsFile}, write with {@link SafeTensorsWriter}; these are the one-call forms.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Opens {@code path} for reading; see {@link SafeTensorsFile}. */
    public static SafeTensorsFile open(Path path) throws IOException {
        return SafeTensorsFile.open(path);
    }

    /**
     * Writes float tensors (as F32), integer tensors (as I64) and metadata to {@code path},
     * atomically; see {@link SafeTensorsWriter} for the layout. Names must be distinct across both
     * maps.
     */
    public static void write(Path path, Map<String, Tensor> floats, Map<String, LongTensor> longs,
                             Map<String, String> metadata) throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter();
        floats.forEach(w::put);
        longs.forEach(w::putLong);
        w.metadata(metadata);
        w.write(path);
    }

    /** Every float tensor of {@code path} (header order), on the current backend. */
    public static Map<String, Tensor> readFloats(Path path) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(path)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) {
                if (f.info(name).dtype().isReadableAsFloat()) out.put(name, f.readFloat(name));
            }
            return out;
        }
    }
}
