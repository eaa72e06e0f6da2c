package dev.aspo.tensor.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend's threading: split a range into one chunk per thread and run the chunks on the
 * calling thread and {@code THREADS - 1} workers of our own. Small ranges run inline.
 *
 * <p>Why not a fork-join pool: a training step runs hundreds of parallel ops of 0.05-2 ms each, and
 * a parked pool thread takes 40-100 us to wake on a virtual machine (measured on this project's
 * 2-core KVM guest: two chunks of 39 us through {@code ForkJoinPool.invoke} took 124 us, slower than
 * running both on one thread). So, as OpenMP runtimes do (Intel's KMP_BLOCKTIME, GNU's
 * GOMP_SPINCOUNT), a worker that has finished a chunk spins for the next job for a while
 * ({@code -Daspo.spin.us}, default {@link #DEFAULT_SPIN_US}) before it parks, and the caller runs
 * chunks itself instead of waiting for a worker to start.
 *
 * <p>Results do not depend on which thread runs which chunk: the chunks' bounds are fixed by
 * {@code n} and the chunk count, and kernels write disjoint outputs per chunk. A call made while
 * another thread's call is running (two callers at once) runs its chunks one after the other on its
 * own thread, with the same bounds; a call from inside a chunk (nesting) runs inline, whole.
 * The thread count is {@code -Daspo.threads} or the number of cores.
 */
public final class Parallel {
    public static final int THREADS = Integer.getInteger("aspo.threads", Runtime.getRuntime().availableProcessors());

    /**
     * Microseconds an idle worker spins for the next job before parking, unless -Daspo.spin.us says
     * otherwise: 1 ms, as 50 or 200 us made the 2-thread training step slower (docs/PERFORMANCE.md).
     */
    static final long DEFAULT_SPIN_US = 1000;
    static final long SPIN_NS = 1000L * Long.getLong("aspo.spin.us", DEFAULT_SPIN_US);

    private static final Pool POOL = THREADS > 1 ? new Pool(THREADS - 1) : null;
    private static final AtomicLong JOB_IDS = new AtomicLong();
    /** Set while a thread runs a job's chunks one after the other because the pool was busy. */
    private static final ThreadLocal<Boolean> SERIAL = new ThreadLocal<>();

    private Parallel() {}

    /** A body that handles the half-open range {@code [start, end)}. */
    @FunctionalInterface
    public interface Range {
        void run(int start, int end);
    }

    /**
     * Runs {@code body} over {@code [0, n)} in at most {@link #THREADS} chunks, none smaller than
     * {@code grain} (so each chunk has enough work to pay for handing it to another thread).
     */
    public static void forRange(int n, int grain, Range body) {
        int chunks = (int) Math.min(THREADS, Math.max(1, n / (long) Math.max(1, grain)));
        if (chunks <= 1 || POOL == null || POOL.inChunk()) {  // a call from inside a chunk: no nesting
            if (n > 0) body.run(0, n);
            return;
        }
        Job job = new Job(body, n, chunks, JOB_IDS.incrementAndGet());
        if (!POOL.run(job)) {               // another thread's job holds the workers
            SERIAL.set(Boolean.TRUE);
            try {
                for (int c = 0; c < chunks; c++) body.run(job.start(c), job.end(c));
            } finally {
                SERIAL.remove();
            }
        }
    }

    /** One call's chunks: taken by index from a counter, so a late worker finds none left. */
    private static final class Job {
        final Range body;
        final int n, chunks;
        final long id;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable error;

        Job(Range body, int n, int chunks, long id) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
            this.id = id;
        }

        int start(int c) {
            return (int) ((long) n * c / chunks);
        }

        int end(int c) {
            return (int) ((long) n * (c + 1) / chunks);
        }

        /** Runs chunks until none is left; the first failure is kept for the caller. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    body.run(start(c), end(c));
                } catch (Throwable t) {
                    if (error == null) error = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static final class Worker extends Thread {
        final Pool pool;
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("aspo-cpu-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;                      // the id of the last job this worker took part in (ids start at 1)
            while (true) {
                Job j = await(seen);
                seen = j.id;
                j.work();
            }
        }

        /** The published job, if it is not {@code seen}; else spins for one, then parks until the caller wakes it. */
        private Job await(long seen) {
            long deadline = System.nanoTime() + SPIN_NS;
            while (true) {
                Job j = pool.current;
                if (j != null && j.id != seen) return j;
                if (System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;                  // then look again: a job published before this write is seen here,
                j = pool.current;               // one published after it finds parked set and unparks this thread
                if (j != null && j.id != seen) {
                    parked = false;
                    return j;
                }
                LockSupport.park(this);
                parked = false;
                deadline = System.nanoTime() + SPIN_NS;
            }
        }
    }

    private static final class Pool {
        final Worker[] workers;
        final ReentrantLock lock = new ReentrantLock();
        volatile Job current;           // the job being run, null between jobs

        Pool(int size) {
            workers = new Worker[size];
            for (int i = 0; i < size; i++) {
                workers[i] = new Worker(this, i + 1);
                workers[i].start();
            }
        }

        /**
         * Whether this thread is running a chunk: a worker, the caller of a job in progress, or a
         * caller running its chunks alone while the pool was busy. Each runs a nested call inline and
         * whole, so that the result of a chunk does not depend on which thread ran it.
         */
        boolean inChunk() {
            return Thread.currentThread() instanceof Worker || lock.isHeldByCurrentThread() || SERIAL.get() != null;
        }

        /** Runs {@code job} on the caller and the workers and returns when every chunk is done; false when another job holds the pool. */
        boolean run(Job job) {
            if (!lock.tryLock()) return false;
            try {
                current = job;
                for (Worker w : workers) if (w.parked) LockSupport.unpark(w);
                job.work();
                while (job.done.get() < job.chunks) Thread.onSpinWait();
            } finally {
                current = null;                 // the body's arrays are not kept alive by the pool
                lock.unlock();
            }
            Throwable t = job.error;
            if (t instanceof RuntimeException r) throw r;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
            return true;
        }
    }
}
