package dev.aspo.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's threading: split a range into one chunk per worker and run the chunks on a
 * shared fork-join pool. Small ranges run inline: a fork costs microseconds.
 * The pool size is {@code -Daspo.threads} or the number of cores.
 */
public final class Parallel {
    public static final int THREADS = Integer.getInteger("aspo.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);

    private Parallel() {}

    /** A body that handles the half-open range {@code [start, end)}. */
    @FunctionalInterface
    public interface Range {
        void run(int start, int end);
    }

    /**
     * Runs {@code body} over {@code [0, n)} in at most {@link #THREADS} chunks, none smaller than
     * {@code grain} (so each fork has enough work to pay for itself).
     */
    public static void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(THREADS, Math.max(1, n / (long) Math.max(1, grain)));
        if (chunks <= 1 || ForkJoinTask.getPool() == POOL) {  // already on a worker: no nesting
            if (n > 0) body.run(0, n);
            return;
        }
        POOL.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] tasks = new RecursiveAction[chunks];
                for (int c = 0; c < chunks; c++) {
                    int start = (int) ((long) n * c / chunks), end = (int) ((long) n * (c + 1) / chunks);
                    tasks[c] = new RecursiveAction() {
                        @Override
                        protected void compute() {
                            body.run(start, end);
                        }
                    };
                }
                invokeAll(tasks);
            }
        });
    }
}
