package dev.aspo.opencl;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.Backends;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@code --device} value into a backend: {@code cpu}, {@code opencl} (the first GPU, else
 * the first device) or {@code opencl:P:D} (platform P, device D as {@code clinfo -l} lists them).
 * One backend per device for the life of the JVM (its context, queue and compiled kernels).
 */
public final class Devices {
    /** The one line shown when no OpenCL platform answers. */
    public static final String NO_PLATFORM = "no OpenCL platform found: install one (e.g. 'apt-get install "
            + "pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev' for the CPU, or a GPU driver with its ICD "
            + "file in /etc/OpenCL/vendors) or use --device cpu";

    private static final Map<String, OpenClBackend> OPEN = new HashMap<>();

    private Devices() {}

    /** Whether any OpenCL device is present. */
    public static boolean available() {
        return !ClDevice.all().isEmpty();
    }

    public static synchronized Backend select(String spec) {
        if (spec == null || spec.isBlank() || spec.equals("cpu")) return Backends.cpu();
        if (!spec.equals("opencl") && !spec.startsWith("opencl:")) {
            throw new IllegalArgumentException("unknown device '" + spec + "': use cpu, opencl or opencl:P:D");
        }
        List<ClDevice> devices = ClDevice.all();
        if (devices.isEmpty()) throw new IllegalStateException(NO_PLATFORM);
        ClDevice chosen;
        if (spec.equals("opencl")) {
            chosen = devices.stream().filter(ClDevice::isGpu).findFirst().orElse(devices.get(0));
        } else {
            String[] parts = spec.split(":");
            int p, d;
            try {
                if (parts.length != 3) throw new NumberFormatException();
                p = Integer.parseInt(parts[1]);
                d = Integer.parseInt(parts[2]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + spec + "': expected opencl:P:D with platform and "
                        + "device numbers, e.g. opencl:0:0; present: " + describe(devices));
            }
            chosen = devices.stream().filter(x -> x.platformIndex == p && x.deviceIndex == d).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no OpenCL device " + spec + "; present: "
                            + describe(devices)));
        }
        return OPEN.computeIfAbsent(chosen.spec(), s -> new OpenClBackend(chosen));
    }

    /** Lists the OpenCL devices ({@code clinfo -l} for machines without clinfo); exit 1 when there is none. */
    public static void main(String[] args) {
        List<ClDevice> devices = ClDevice.all();
        if (devices.isEmpty()) {
            System.out.println(NO_PLATFORM);
            System.exit(1);
        }
        for (ClDevice d : devices) System.out.println(d);
    }

    private static String describe(List<ClDevice> devices) {
        StringBuilder sb = new StringBuilder();
        for (ClDevice d : devices) sb.append(sb.length() == 0 ? "" : "; ").append(d);
        return sb.toString();
    }
}
