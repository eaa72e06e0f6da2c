package dev.aspo.method.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How much memory a process phase took, for the benchmarks:
 *
 * <pre>
 *   heap peak     a daemon thread reads the heap's occupancy every few milliseconds and keeps the
 *                 largest value since the last {@link #resetPeak}: what the heap held, garbage not yet
 *                 collected included (so a lower -Xmx may still do)
 *   pool peaks    the sum over the heap's memory pools of their peak usage since the last reset: an
 *                 upper bound of the same (the pools' peaks need not coincide), missing no spike
 *   live heap     occupancy after a full collection: what the phase left behind
 *   RSS           VmRSS and VmHWM (its peak over the process's life) of /proc/self/status (Linux;
 *                 -1 where there is no such file)
 * </pre>
 */
final class MemoryProbe implements AutoCloseable {
    private static final MemoryMXBean HEAP = ManagementFactory.getMemoryMXBean();
    private final AtomicLong peak = new AtomicLong();
    private final Thread sampler;
    private volatile boolean running = true;

    MemoryProbe() {
        sampler = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-probe");
        sampler.setDaemon(true);
        sampler.start();
    }

    private void sample() {
        long used = HEAP.getHeapMemoryUsage().getUsed();
        peak.accumulateAndGet(used, Math::max);
    }

    /** The largest heap occupancy seen since the last reset (or the start), then starts again from the present one. */
    long resetPeak() {
        sample();
        long p = peak.getAndSet(0);
        sample();
        return p;
    }

    /** The sum of the heap pools' peaks since the last {@link #resetPoolPeaks}. */
    static long poolPeaks() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
        }
        return sum;
    }

    static void resetPoolPeaks() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
    }

    /** Heap occupancy after a full collection. */
    static long liveHeap() {
        System.gc();
        return HEAP.getHeapMemoryUsage().getUsed();
    }

    /** The resident set now (VmRSS), bytes. */
    static long rss() {
        return status("VmRSS:");
    }

    /** The largest resident set of the process so far (VmHWM), bytes. */
    static long peakRss() {
        return status("VmHWM:");
    }

    /** A "kB" line of /proc/self/status in bytes, or -1. */
    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
    }
}
