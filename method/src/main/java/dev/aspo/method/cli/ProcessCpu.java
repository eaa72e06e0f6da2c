package dev.aspo.method.cli;

import java.lang.management.ManagementFactory;

/**
 * CPU seconds the whole process has used (every thread: the kernels' workers, the collector, the
 * JIT): beside wall time, what a phase cost on a machine shared with other jobs, whose wall time
 * depends on them.
 */
final class ProcessCpu {
    private ProcessCpu() {}

    /** Process CPU seconds so far, or NaN where the JVM does not tell. */
    static double seconds() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long ns = os.getProcessCpuTime();
            if (ns >= 0) return ns * 1e-9;
        }
        return Double.NaN;
    }
}
