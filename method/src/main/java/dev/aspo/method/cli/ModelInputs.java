package dev.aspo.method.cli;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The input file of {@code aspo forward} and {@code aspo grad}: a safetensors file holding
 *
 * <pre>
 *   input_ids       I64 [B, T]          token ids, image tokens already expanded (any integer dtype is read)
 *   attention_mask  I64 [B, T]          1 keep, 0 padding (optional)
 *   pixel_values    F32 [N, 3, H, W]    images (optional; F16/BF16/F64 are converted)
 *   labels          I64 [B, T]          targets, -100 (any negative) ignored (grad only)
 * </pre>
 *
 * Other tensors in the file are ignored. Each present tensor is checked for its rank, its shape
 * against {@code input_ids} and its values; a problem is one error naming the file and the tensor.
 */
final class ModelInputs {
    final Path file;
    /** {@code [B*T]} ids, or null when absent; {@link #batch} and {@link #seq} are then 0. */
    final int[] inputIds;
    final int batch, seq;
    /** {@code [B*T]} 0/1, or null. */
    final int[] attentionMask;
    /** {@code [N, C, H, W]}, or null. */
    final Tensor pixelValues;
    /** {@code [B*T]}, or null. */
    final int[] labels;

    private ModelInputs(Path file, int[] inputIds, int batch, int seq, int[] attentionMask, Tensor pixelValues, int[] labels) {
        this.file = file;
        this.inputIds = inputIds;
        this.batch = batch;
        this.seq = seq;
        this.attentionMask = attentionMask;
        this.pixelValues = pixelValues;
        this.labels = labels;
    }

    static ModelInputs read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            int[] ids = null, mask = null, labels = null;
            int b = 0, t = 0;
            if (f.contains("input_ids")) {
                int[] shape = f.info("input_ids").shape();
                if (shape.length != 2 || shape[0] == 0 || shape[1] == 0) {
                    throw new IllegalArgumentException(file + ": input_ids must be [B, T] with B, T > 0, got " + Arrays.toString(shape));
                }
                b = shape[0];
                t = shape[1];
                ids = ints(f, "input_ids");
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] < 0) throw new IllegalArgumentException(file + ": input_ids[" + i / t + ", " + i % t + "] is negative: " + ids[i]);
                }
            }
            if (f.contains("attention_mask")) {
                mask = sameShape(f, "attention_mask", ids, b, t);
                for (int i = 0; i < mask.length; i++) {
                    if (mask[i] != 0 && mask[i] != 1) {
                        throw new IllegalArgumentException(file + ": attention_mask[" + i / t + ", " + i % t + "] is " + mask[i]
                                + "; expected 1 (keep) or 0 (padding)");
                    }
                }
            }
            if (f.contains("labels")) labels = sameShape(f, "labels", ids, b, t);
            Tensor px = null;
            if (f.contains("pixel_values")) {
                int[] shape = f.info("pixel_values").shape();
                if (shape.length != 4 || shape[0] == 0) {
                    throw new IllegalArgumentException(file + ": pixel_values must be [N, 3, H, W] with N > 0, got " + Arrays.toString(shape));
                }
                px = f.readFloat("pixel_values");
                float[] v = px.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    if (!Float.isFinite(v[i])) {
                        throw new IllegalArgumentException(file + ": pixel_values holds " + v[i] + " at flat index " + i
                                + "; pixel values must be finite numbers");
                    }
                }
            }
            return new ModelInputs(file, ids, b, t, mask, px, labels);
        }
    }

    private static int[] sameShape(SafeTensorsFile f, String name, int[] ids, int b, int t) throws IOException {
        if (ids == null) throw new IllegalArgumentException(f.path() + ": " + name + " is given without input_ids");
        int[] shape = f.info(name).shape();
        if (!Arrays.equals(shape, new int[] {b, t})) {
            throw new IllegalArgumentException(f.path() + ": " + name + " is " + Arrays.toString(shape) + " but input_ids is ["
                    + b + ", " + t + "]");
        }
        return ints(f, name);
    }

    private static int[] ints(SafeTensorsFile f, String name) throws IOException {
        long[] v = f.readLong(name).data();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] != (int) v[i]) throw new IllegalArgumentException(f.path() + ": " + name + " value " + v[i] + " does not fit an int");
            out[i] = (int) v[i];
        }
        return out;
    }

    /** The ids, or an error saying {@code what} needs them. */
    int[] requireIds(String what) {
        if (inputIds == null) throw new IllegalArgumentException(file + ": no input_ids (" + what + " needs them)");
        return inputIds;
    }

    int[] requireLabels(String what) {
        requireIds(what);
        if (labels == null) throw new IllegalArgumentException(file + ": no labels (" + what + " needs them; -100 marks ignored positions)");
        return labels;
    }

    Tensor requirePixels(String what) {
        if (pixelValues == null) throw new IllegalArgumentException(file + ": no pixel_values (" + what + " needs them)");
        return pixelValues;
    }

    /** The attention mask as floats (1 keep, 0 pad) for the decoders, or null. */
    float[] maskFloats() {
        if (attentionMask == null) return null;
        float[] out = new float[attentionMask.length];
        for (int i = 0; i < out.length; i++) out[i] = attentionMask[i];
        return out;
    }
}
