package dev.aspo.method.cli;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Precision;
import picocli.CommandLine.Option;

/**
 * The model commands' {@code --dtype}: the format the model's weight matrices are held in.
 * {@code float32} (the default) changes nothing; {@code bfloat16} or {@code float16} holds every
 * linear and embedding weight (and CLIP's patch convolution) frozen in 2 bytes instead of 4, widened
 * to float32 by the matrix multiplies and lookups that read them, so the model takes about half the
 * memory. Activations, norms and biases stay float32. The cpu backend only: with another
 * {@code --device} it is one clear error.
 */
final class DtypeOption {
    @Option(names = "--dtype", defaultValue = "float32", paramLabel = "T",
            description = "weight matrices held in float32 (default), bfloat16 or float16 (frozen, half the memory;"
                    + " computed in float32; cpu only)")
    String dtype;

    /** The chosen precision, checked against the current backend (call after selecting the device). */
    Precision precision() {
        Precision p = Precision.parse(dtype, "--dtype");
        if (p != Precision.FLOAT32 && Backends.current() != Backends.cpu()) {
            throw new IllegalArgumentException("--dtype " + dtype + " holds the weights for the cpu backend, but --device is "
                    + Backends.current().name() + ", which keeps float32 weights; use --dtype float32 there");
        }
        return p;
    }
}
