package dev.aspo.method.cli;

import dev.aspo.tensor.Backends;

/**
 * Every command's {@code --device}: {@code cpu} (the default), {@code opencl} (the first GPU, else
 * the first OpenCL device) or {@code opencl:P:D}. Selecting makes the backend current, so the
 * model, its weights and the inputs are created there; an unknown name, or {@code opencl} on a
 * machine without an OpenCL platform, is one clear error.
 */
final class Devices {
    private Devices() {}

    static void select(String device) {
        Backends.use(dev.aspo.opencl.Devices.select(device));
    }
}
