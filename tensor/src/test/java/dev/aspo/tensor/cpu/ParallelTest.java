package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CPU backend's thread pool: every index of a range handled once, in chunks whose bounds depend
 * only on the range and the thread count; a chunk's failure reaches the caller; two callers at once
 * and calls from inside a chunk both finish with every index done. Run here with this JVM's thread
 * count and in child JVMs with 1, 3 and 8 threads (more threads than this machine has cores, so a
 * worker is often descheduled while it spins).
 */
class ParallelTest {
    @Test
    void everyPropertyHoldsWithThisJvmsThreads() throws Exception {
        Child.checkAll();
    }

    @ParameterizedTest(name = "{0} threads")
    @ValueSource(ints = {1, 3, 8})
    void everyPropertyHoldsInAJvmWithThatManyThreads(int threads) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Daspo.threads=" + threads, "-Daspo.spin.us=50", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), Child.class.getName()).redirectErrorStream(true).start();
        String out;
        try {
            assertTrue(child.waitFor(3, TimeUnit.MINUTES), threads + " threads: no answer in 3 minutes");
        } finally {
            out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            child.destroyForcibly();
        }
        assertEquals(0, child.exitValue(), threads + " threads failed:\n" + out);
        assertTrue(out.contains("ran threads=" + threads), "the child ran something else:\n" + out);
    }

    /** The checks, in whatever JVM runs them. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            checkAll();
            System.out.println("ran threads=" + Parallel.THREADS);
        }

        static void checkAll() throws Exception {
            eachIndexOnceInFixedChunks();
            aChunksFailureReachesTheCaller();
            twoCallersAtOnceAndNestedCalls();
        }

        static void eachIndexOnceInFixedChunks() {
            for (int round = 0; round < 2000; round++) {     // many calls back to back: workers spinning, parking, waking
                int n = round % 97, grain = 1 + round % 7;
                int[] hits = new int[n];
                List<int[]> ranges = Collections.synchronizedList(new ArrayList<>());
                Parallel.forRange(n, grain, (s, e) -> {
                    ranges.add(new int[] {s, e});
                    for (int i = s; i < e; i++) hits[i]++;
                });
                for (int i = 0; i < n; i++) check(hits[i] == 1, "n " + n + " grain " + grain + ": index " + i + " handled " + hits[i] + " times");
                int chunks = (int) Math.min(Parallel.THREADS, Math.max(1, n / grain));
                if (n == 0) check(ranges.isEmpty(), "an empty range runs nothing");
                else check(ranges.size() == chunks, "n " + n + " grain " + grain + ": " + ranges.size() + " chunks, expected " + chunks);
                for (int[] r : ranges) {   // the bounds are the fixed split of [0, n) into `chunks`, whoever ran them
                    boolean known = false;
                    for (int c = 0; c < chunks; c++) known |= r[0] == (int) ((long) n * c / chunks) && r[1] == (int) ((long) n * (c + 1) / chunks);
                    check(known, "n " + n + ": chunk [" + r[0] + ", " + r[1] + ") is not one of the " + chunks + " fixed chunks");
                }
            }
        }

        static void aChunksFailureReachesTheCaller() {
            IllegalStateException boom = new IllegalStateException("chunk failed");
            AtomicInteger ran = new AtomicInteger();
            IllegalStateException seen = assertThrows(IllegalStateException.class, () -> Parallel.forRange(1000, 1, (s, e) -> {
                ran.incrementAndGet();
                if (e == 1000) throw boom;   // the last chunk, on whichever thread takes it
            }));
            assertSame(boom, seen);
            check(ran.get() == Math.min(Parallel.THREADS, 1000), "every chunk still ran: " + ran.get());
            int[] hits = new int[100];
            Parallel.forRange(100, 1, (s, e) -> {
                for (int i = s; i < e; i++) hits[i]++;
            });
            for (int h : hits) check(h == 1, "the pool works after a failure");
        }

        static void twoCallersAtOnceAndNestedCalls() throws Exception {
            int n = 4096;
            AtomicReference<Throwable> failed = new AtomicReference<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        for (int round = 0; round < 300; round++) {
                            int[] outer = new int[n];
                            Parallel.forRange(64, 1, (s, e) -> {
                                for (int block = s; block < e; block++) {
                                    int b0 = block * 64;   // a call from inside a chunk runs inline, whole, on any thread
                                    Parallel.forRange(64, 1, (s2, e2) -> {
                                        if (s2 != 0 || e2 != 64) throw new AssertionError("a nested call was split: [" + s2 + ", " + e2 + ")");
                                        for (int i = s2; i < e2; i++) outer[b0 + i]++;
                                    });
                                }
                            });
                            for (int i = 0; i < n; i++) if (outer[i] != 1) throw new AssertionError("index " + i + " handled " + outer[i] + " times");
                        }
                    } catch (Throwable x) {
                        failed.compareAndSet(null, x);
                    }
                });
                callers.add(th);
                th.start();
            }
            start.countDown();
            for (Thread th : callers) th.join(120_000);
            if (failed.get() != null) throw new AssertionError("two callers at once", failed.get());
        }

        private static void check(boolean ok, String what) {
            if (!ok) throw new AssertionError(what);
        }
    }
}
