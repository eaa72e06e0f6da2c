package dev.aspo.method.cli;

import java.util.List;

/**
 * The compute devices this build can run on, for every command's {@code --device}. Only the CPU
 * backend exists so far; any other name is one clear error.
 */
final class Devices {
    private Devices() {}

    static final List<String> AVAILABLE = List.of("cpu");

    /** Checks {@code device} names an available device (selecting it once there is more than one). */
    static void select(String device) {
        if (!AVAILABLE.contains(device)) {
            throw new IllegalArgumentException("device " + device + " is not available; this build has: "
                    + String.join(", ", AVAILABLE));
        }
    }
}
