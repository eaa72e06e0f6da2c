package dev.aspo.tensor;

import java.lang.ref.SoftReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Step-scoped reuse of the buffers of a training step's graph, so that a steady-state step takes
 * its activations and gradients from the previous step's instead of the heap.
 *
 * <p>Why: every op output is a fresh zeroed buffer and a step of the speed issue's yardstick
 * allocated 150-185 MB for about 93 MB of live state; the garbage collector had to reclaim all of
 * it each step. Java cannot tell which of those buffers are still referenced, so reuse is limited
 * to buffers that are provably dead, and the proof is kept here:
 *
 * <ul>
 *   <li>Only a scope opened by the caller ({@code try (var s = BufferPool.step()) {...}}) reuses
 *       anything. Closing it is the caller's statement that no tensor computed by a recorded op in
 *       the scope (the graph of its backward passes) is used again: read losses and log-probs, or
 *       {@link Tensor#detach()} what must be kept, inside the scope. Outside a scope allocation is
 *       exactly as before.</li>
 *   <li>Only buffers handed out in the scope count ({@link #allocate}): parameters, AdamW moments,
 *       inputs made before the scope are never candidates.</li>
 *   <li>An output of a recorded op that backward freed gives its storage back when the scope closes,
 *       and only when that tensor is the storage's one and only wrapper: a {@link Tensor#detach()}
 *       result, a reshape made without recording, or a {@link Tensor#of(Storage, int...)} around it
 *       counts as a second wrapper and keeps the buffer out of the pool for good (recorded reshape
 *       views belong to the graph and do not count). The tensors whose storage was given back are
 *       marked released: using one afterwards throws instead of reading another step's values.</li>
 *   <li>The non-leaf gradient buffers of a finished backward pass (which {@link Autograd} already
 *       reuses within the pass) and the buffers ops saved for their backward only
 *       ({@link Autograd#allocateSaved}: attention probabilities, norm statistics) go back at once:
 *       nothing outside the freed graph can reach them.</li>
 * </ul>
 *
 * A buffer handed out again is zero-filled, exactly like {@link Backend#allocate}, so results are
 * bit for bit those of fresh buffers; except where the caller asks for an unfilled one
 * ({@link Tensor#unfilled}, {@link Autograd#allocateSavedUnfilled}) because the op's kernel writes
 * every element before anything reads it (a GEMM without accumulation, an elementwise op, a norm):
 * zeros it overwrites would be a second pass over memory for nothing (on the speed issue's
 * yardstick under AVX2 the fills took 5-7% of a step). The pool is per thread; what a scope gives back is kept for
 * the next scope only (buffers no scope took are dropped), so it never holds more than one step's
 * graph; {@link #clear} drops it. The price: between steps the heap holds that graph (on the speed
 * issue's yardstick about 120 MB beside the 93 MB of weights and moments). It holds it softly: when
 * the heap runs short the collector takes it, and the next step allocates afresh.
 *
 * <p>Outside the proof, as for any tensor: a raw {@link Storage} (from {@link Tensor#storage()})
 * kept past the scope, and tensors made on another thread around a scope's buffers (the count of
 * wrappers is per thread).
 */
public final class BufferPool {
    private static final ThreadLocal<BufferPool> POOL = ThreadLocal.withInitial(BufferPool::new);

    /** Open {@link #step} scopes on this thread (nested ones join the outermost). */
    private int depth;
    /**
     * Buffers handed out in the open scope, with how many tensors wrap each ({@link #wrapped}); held
     * weakly (Storage keeps Object's identity equals): a buffer nothing refers to any more (an
     * intermediate of a forward without gradients, a vision tower's in a trained language model)
     * could never be given back, and is left to the collector rather than kept to the scope's end.
     */
    private final Map<Storage, int[]> handedOut = new WeakHashMap<>();
    /** Graph tensors of the backward passes run in the open scope. */
    private final List<Tensor> retired = new ArrayList<>();
    /** Free buffers by length: given back by the previous scope, and given back during this one. */
    private Map<Integer, ArrayDeque<Storage>> previous = new HashMap<>();
    private Map<Integer, ArrayDeque<Storage>> current = new HashMap<>();
    /**
     * Between scopes, what the last one gave back, held softly: the collector may take it when the
     * heap runs short (it must, before any OutOfMemoryError), and the next scope then allocates
     * afresh. So the pool never costs a run its memory: AdamW's first step makes its moments while
     * the step's graph buffers wait here, and in a model that fills the heap those buffers give way.
     */
    private SoftReference<Map<Integer, ArrayDeque<Storage>>> between;
    /** The checkpointed layer's first forward running on this thread, or null. */
    private LayerForward layerForward;
    /** Buffers this thread's scopes had to take from the backend (pool misses); for tests. */
    long freshAllocations;
    /**
     * For tests: an unfilled buffer handed out again is first filled with NaN on this thread, so
     * that an element an op leaves unwritten shows in its result instead of an earlier value that
     * happens to be right.
     */
    boolean poisonUnfilled;

    private BufferPool() {}

    /** Closes a {@link #step} scope. */
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Opens a step scope on this thread: until it closes, op outputs and gradients come from the
     * buffers earlier scopes gave back. See the class comment for what closing it promises.
     */
    public static Scope step() {
        BufferPool p = POOL.get();
        if (p.depth++ == 0 && p.between != null) {
            Map<Integer, ArrayDeque<Storage>> kept = p.between.get();
            p.previous = kept != null ? kept : new HashMap<>();
            p.between = null;
        }
        boolean[] closed = {false};
        return () -> {
            if (closed[0]) return;
            closed[0] = true;
            if (--p.depth == 0) p.endStep();
        };
    }

    /** Whether a {@link #step} scope is open on this thread. */
    public static boolean inScope() {
        return POOL.get().depth > 0;
    }

    /**
     * Drops this thread's free buffers (call when no step follows, e.g. at the end of a training
     * run, so that the last step's graph does not stay on the heap); a no-op inside a scope.
     */
    public static void clear() {
        BufferPool p = POOL.get();
        if (p.depth > 0) return;
        p.previous = new HashMap<>();
        p.current = new HashMap<>();
        p.between = null;
    }

    /** Floats this thread's pool keeps between scopes for the next one (0 once the collector took them; for tests). */
    static long floatsKeptBetweenScopes() {
        BufferPool p = POOL.get();
        Map<Integer, ArrayDeque<Storage>> kept = p.between == null ? null : p.between.get();
        long n = 0;
        if (kept != null) for (var e : kept.entrySet()) n += (long) e.getKey() * e.getValue().size();
        return n;
    }

    /** This thread's pool (package-private: tests read {@link #freshAllocations}). */
    static BufferPool ofThisThread() {
        return POOL.get();
    }

    /** A zero-filled buffer of {@code n} floats on {@code backend}: a pooled one inside a scope, else a new one. */
    static Storage allocate(Backend backend, int n) {
        return allocate(backend, n, true);
    }

    /**
     * {@link #allocate}, or with {@code zeroed} false a buffer whose values are undefined inside a
     * scope (a pooled one keeps an earlier tensor's values): for a caller that writes all {@code n}
     * floats before anything reads them. Outside a scope it is a new (zeroed) buffer either way.
     */
    static Storage allocate(Backend backend, int n, boolean zeroed) {
        BufferPool p = POOL.get();
        if (p.depth == 0) return backend.allocate(n);
        Storage s = take(p.previous, backend, n);
        if (s == null) s = take(p.current, backend, n);
        if (s == null) {
            p.freshAllocations++;
            s = backend.allocate(n);
        } else if (zeroed) {
            backend.fill(s, 0, n, 0f);
        } else {
            handedOutUnfilled(s);
        }
        p.handedOut.put(s, new int[1]);
        if (p.layerForward != null) p.layerForward.handed.add(s);
        return s;
    }

    /**
     * A buffer used before (a gradient buffer kept for reuse) is handed out unfilled, for a caller
     * that writes it in full: with {@link #poisonUnfilled} set, filled with NaN first.
     */
    static void handedOutUnfilled(Storage s) {
        if (POOL.get().poisonUnfilled) s.backend().fill(s, 0, s.size(), Float.NaN);
    }

    /**
     * A {@link Checkpoint}ed layer's first forward, which records no graph: the buffers handed out
     * during it and the tensors made during it over buffers of the scope.
     */
    static final class LayerForward {
        private final BufferPool pool;
        private final List<Storage> handed = new ArrayList<>();
        private final List<Tensor> wrappers = new ArrayList<>();
        private final List<Storage> wrapped = new ArrayList<>();

        private LayerForward(BufferPool pool) {
            this.pool = pool;
        }

        /**
         * The layer returned {@code out} (null: it threw). Its intermediates are dead: a checkpointed
         * layer is a function of its inputs and keeps nothing it made, which is the same promise a
         * closed scope makes of its graph. So the tensors it made go out of the count of wrappers,
         * and the buffers it took go back to the pool (their tensors are marked released: a use
         * would throw rather than read another tensor's values), except {@code out}'s buffer and
         * every tensor over it. Without this the scope would hold every layer's intermediates
         * until it closes, which is what checkpointing is there to avoid.
         */
        void end(Tensor out) {
            BufferPool p = pool;
            p.layerForward = null;
            if (out == null) return;
            Storage keep = out.storageUnchecked();
            Map<Storage, Boolean> mine = new IdentityHashMap<>();
            for (Storage s : handed) mine.put(s, Boolean.TRUE);
            for (int i = 0; i < wrappers.size(); i++) {
                Storage s = wrapped.get(i);
                if (s == keep) continue;
                int[] count = p.handedOut.get(s);
                if (count != null) count[0]--;
                if (mine.containsKey(s)) wrappers.get(i).release();
            }
            for (Storage s : handed) {
                int[] count = p.handedOut.get(s);
                if (s != keep && count != null && count[0] == 0) p.giveBack(s);
            }
        }
    }

    /** Starts a {@link LayerForward} on this thread (one at a time); null outside a scope, where nothing is pooled. */
    static LayerForward layerForward() {
        BufferPool p = POOL.get();
        if (p.depth == 0) return null;
        if (p.layerForward != null) throw new IllegalStateException("a checkpointed layer's forward is already running on this thread");
        p.layerForward = new LayerForward(p);
        return p.layerForward;
    }

    private static Storage take(Map<Integer, ArrayDeque<Storage>> free, Backend backend, int n) {
        ArrayDeque<Storage> q = free.get(n);
        if (q == null) return null;
        for (var it = q.iterator(); it.hasNext(); ) {
            Storage s = it.next();
            if (s.backend() == backend) {
                it.remove();
                return s;
            }
        }
        return null;
    }

    /** A tensor now wraps {@code s} (the op output itself, or a detach(), a plain reshape, a Tensor.of). */
    static void wrapped(Tensor t, Storage s) {
        BufferPool p = POOL.get();
        if (p.depth == 0) return;
        int[] count = p.handedOut.get(s);
        if (count == null) return;
        count[0]++;
        if (p.layerForward != null) {
            p.layerForward.wrappers.add(t);
            p.layerForward.wrapped.add(s);
        }
    }

    /**
     * A backward pass finished: {@code graph} are its tensors (freed from the graph, still perhaps
     * read by the caller until the scope closes), {@code deadGrads} the non-leaf gradient buffers
     * the pass no longer holds, {@code saved} the buffers the freed nodes kept for their backward.
     */
    static void backwardDone(List<Tensor> graph, Iterable<ArrayDeque<Storage>> deadGrads, List<Storage> saved) {
        BufferPool p = POOL.get();
        if (p.depth == 0) return;
        p.retired.addAll(graph);
        for (ArrayDeque<Storage> q : deadGrads) {
            for (Storage g : q) p.giveBackUnwrapped(g);
        }
        for (Storage s : saved) p.giveBackUnwrapped(s);
    }

    /**
     * The backward pass of a recomputed layer ({@link Autograd#backwardRecomputed}) finished: as
     * {@link #backwardDone}, and the graph's own outputs go back at once (no caller can hold one:
     * the layer's graph is private to the recomputation), so the next layer's recomputation reuses
     * them instead of the scope keeping every layer's until it closes.
     */
    static void recomputedBackwardDone(List<Tensor> graph, Iterable<ArrayDeque<Storage>> deadGrads, List<Storage> saved) {
        BufferPool p = POOL.get();
        if (p.depth == 0) return;
        for (ArrayDeque<Storage> q : deadGrads) {
            for (Storage g : q) p.giveBackUnwrapped(g);
        }
        for (Storage s : saved) p.giveBackUnwrapped(s);
        for (Tensor t : graph) {
            if (t.isView()) continue;          // released with its source
            Storage s = t.storage();
            int[] count = p.handedOut.get(s);
            if (count != null && count[0] == 1) {
                t.release();
                p.giveBack(s);
            }
        }
    }

    /** Gives {@code s} back if this scope handed it out and no tensor ever wrapped it. */
    private void giveBackUnwrapped(Storage s) {
        int[] count = handedOut.get(s);
        if (count != null && count[0] == 0) giveBack(s);
    }

    private void giveBack(Storage s) {
        handedOut.remove(s);
        current.computeIfAbsent(s.size(), n -> new ArrayDeque<>()).push(s);
    }

    /** The outermost scope closed: the graph outputs that only their own tensor wraps go back. */
    private void endStep() {
        for (Tensor t : retired) {
            if (t.isView()) continue;          // a recorded view is released with its source
            Storage s = t.storage();
            int[] count = handedOut.get(s);
            if (count != null && count[0] == 1) {
                t.release();
                giveBack(s);
            }
        }
        retired.clear();
        handedOut.clear();
        between = new SoftReference<>(current);   // what no step took from the older ones is dropped
        previous = new HashMap<>();
        current = new HashMap<>();
    }
}
