package dev.aspo.method.cli;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ListenerNotFoundException;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * How much memory a process phase took, for the benchmarks:
 *
 * <pre>
 *   heap peak     a daemon thread reads the heap's occupancy every few milliseconds and keeps the
 *                 largest value since the last {@link #resetPeak}: what the heap held, garbage not yet
 *                 collected included (so a lower -Xmx may still do)
 *   live peak     the largest occupancy right after a collection since the last reset: the live
 *                 data at the fullest moment a collection saw, about what the heap must hold
 *   pool peaks    the sum over the heap's memory pools of their peak usage since the last reset: an
 *                 upper bound of the same (the pools' peaks need not coincide), missing no spike
 *   live heap     occupancy after a full collection: what the phase left behind
 *   RSS           VmRSS and VmHWM (its peak over the process's life) of /proc/self/status (Linux;
 *                 -1 where there is no such file)
 * </pre>
 */
final class MemoryProbe implements AutoCloseable {
    private static final MemoryMXBean HEAP = ManagementFactory.getMemoryMXBean();
    private static final Set<String> HEAP_POOLS = new HashSet<>();

    static {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) HEAP_POOLS.add(p.getName());
    }

    private final AtomicLong peak = new AtomicLong(), peakAfterGc = new AtomicLong();
    private final Thread sampler;
    private volatile boolean running = true;
    private final List<Runnable> unsubscribe = new ArrayList<>();

    MemoryProbe() {
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (!(gc instanceof NotificationEmitter emitter)) continue;
            NotificationListener l = (n, handback) -> {
                if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
                GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                if ("System.gc()".equals(info.getGcCause())) return;   // ours, between phases (liveHeap)
                long used = 0;
                for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
                    if (HEAP_POOLS.contains(e.getKey())) used += e.getValue().getUsed();
                }
                peakAfterGc.accumulateAndGet(used, Math::max);
            };
            emitter.addNotificationListener(l, null, null);
            unsubscribe.add(() -> {
                try {
                    emitter.removeNotificationListener(l);
                } catch (ListenerNotFoundException e) {
                    // already gone
                }
            });
        }
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

    /**
     * A phase's heap peaks: {@code sampled} the largest occupancy seen (garbage included), {@code
     * afterGc} the largest right after a collection (the live data at the fullest moment a
     * collection saw: about what the heap must be able to hold; 0 when no collection ran).
     */
    record Peak(long sampled, long afterGc) {
        static final Peak NONE = new Peak(-1, -1);

        Peak max(Peak o) {
            return new Peak(Math.max(sampled, o.sampled), Math.max(afterGc, o.afterGc));
        }
    }

    /** The peaks since the last reset (or the start), then starts again from the present occupancy. */
    Peak resetPeak() {
        sample();
        Peak p = new Peak(peak.getAndSet(0), peakAfterGc.getAndSet(0));
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

    /** The largest VmRSS {@link #rss} has read. */
    private static final java.util.concurrent.atomic.AtomicLong LARGEST_RSS_READ = new java.util.concurrent.atomic.AtomicLong(-1);

    /** The resident set now (VmRSS), bytes. */
    static long rss() {
        long r = status("VmRSS:");
        LARGEST_RSS_READ.accumulateAndGet(r, Math::max);
        return r;
    }

    /**
     * The largest resident set of the process so far, bytes: VmHWM, or the largest VmRSS read if
     * that is more (the kernel updates VmHWM lazily, when pages are unmapped, so a VmRSS read can
     * exceed a later VmHWM by a page or two).
     */
    static long peakRss() {
        return Math.max(status("VmHWM:"), LARGEST_RSS_READ.get());
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
        unsubscribe.forEach(Runnable::run);
        running = false;
        sampler.interrupt();
    }
}
