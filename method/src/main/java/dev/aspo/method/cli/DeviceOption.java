package dev.aspo.method.cli;

import dev.aspo.opencl.Devices;
import dev.aspo.tensor.Backends;
import picocli.CommandLine.Option;

/**
 * Every command's {@code --device}: {@code cpu} (the default), {@code opencl} (the first GPU, else
 * the first OpenCL device) or {@code opencl:P:D}. Selecting makes the backend current, so the
 * model, its weights and the inputs are created there; an unknown name, or {@code opencl} on a
 * machine without an OpenCL platform, is one clear error. Commands take the option as a picocli
 * mixin ({@code @Mixin DeviceOption device}); {@code aspo train} reads it from its config.
 */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "D",
            description = "compute device: cpu (default), opencl (the first GPU, else the first OpenCL device) or opencl:P:D")
    String device;

    /** Makes the chosen device current. */
    void select() {
        select(device);
    }

    static void select(String device) {
        Backends.use(Devices.select(device));
    }
}
