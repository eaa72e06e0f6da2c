package dev.aspo.opencl;

import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_ONLY;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.CL_TRUE;

import dev.aspo.tensor.Backend;
import dev.aspo.tensor.BinaryOp;
import dev.aspo.tensor.IndexChecks;
import dev.aspo.tensor.RopeFrequencies;
import dev.aspo.tensor.Storage;
import dev.aspo.tensor.UnaryOp;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * The OpenCL backend: one context and in-order queue per device, buffers resident in device memory
 * ({@link ClStorage}), the kernels of {@code kernels.cl} compiled once. Kernels are enqueued without
 * waiting; only {@link #download} and {@link #sumOfSquares} (values the host asked for) block.
 *
 * <p>Index arrays ({@code int[]} arguments) come from the host: they are checked here (a bad id
 * must be an exception, not a device fault) and uploaded per call. Matmul picks its kernel by the
 * device type: register blocks for CPU devices, local-memory tiles for GPUs ({@link GemmKind}).
 *
 * <p>Threads: every method holds the backend's lock while it sets kernel arguments and enqueues
 * (a {@code cl_kernel} keeps its arguments, so two threads must not share one unlocked).
 */
public final class OpenClBackend implements Backend {
    /** The two GEMM kernels: {@code CPU} 4x16 register blocks per work-item, {@code GPU} 64x64 local-memory tiles. */
    public enum GemmKind { CPU, GPU }

    /**
     * The row-reduction kernels of softmax and cross-entropy: {@code SERIAL} one work-item per row
     * (CPU devices), {@code GROUP} one work-group of 128 per row (GPUs: vocabulary-wide rows).
     */
    public enum RowKind { SERIAL, GROUP }

    private static final int ROW_GROUP = 128;

    private static final int LOCAL = 64;
    private static final int SUMSQ_ITEMS = 1024;
    /** CPU GEMM: B of at least this many floats (1 MiB) is packed into panels first. */
    private static final long PACK_ABOVE = 1 << 18;

    private final ClDevice device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    /** The kernels of preference.cl, built on first use ({@link #kp}). */
    private cl_program preferenceProgram;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final cl_mem dummy;
    private volatile GemmKind gemm;
    private final int cpuGemmRows;
    private volatile RowKind rowKind;
    private long downloads;
    /** Bytes held by live {@link ClStorage}s (decremented by their cleaners). */
    final java.util.concurrent.atomic.AtomicLong liveBytes = new java.util.concurrent.atomic.AtomicLong();
    private volatile long memoryLimit;
    /** The commands of a task graph being recorded, or null. */
    private List<ClCommand> recording;

    @SuppressWarnings("deprecation")   // clCreateCommandQueue: OpenCL 1.2 devices have nothing newer
    OpenClBackend(ClDevice device) {
        this.device = device;
        CL.setExceptionsEnabled(true);
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL.CL_CONTEXT_PLATFORM, device.platform);
        context = CL.clCreateContext(props, 1, new cl_device_id[] {device.device}, null, null, null);
        queue = CL.clCreateCommandQueue(context, device.device, 0, null);
        program = programOf("kernels.cl");
        // CPU GEMM rows per work-item: 8 float16 accumulators fill half of AVX-512's 32 registers;
        // with AVX2 (preferred width 8) a float16 takes two registers, so 4 rows
        int[] width = new int[1];
        CL.clGetDeviceInfo(device.device, CL.CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, Sizeof.cl_int, Pointer.to(width), null);
        cpuGemmRows = Integer.getInteger("aspo.opencl.gemmRows", width[0] >= 16 ? 8 : 4);
        try {
            CL.clBuildProgram(program, 0, null, "-cl-fp32-correctly-rounded-divide-sqrt -DRM=" + cpuGemmRows, null, null);
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL kernels failed to build on " + device + ": " + buildLog(), e);
        }
        long[] global = new long[1];
        CL.clGetDeviceInfo(device.device, CL.CL_DEVICE_GLOBAL_MEM_SIZE, Sizeof.cl_long, Pointer.to(global), null);
        memoryLimit = global[0] / 10 * 8;
        dummy = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, Sizeof.cl_float, null, null);
        gemm = device.isCpu() ? GemmKind.CPU : GemmKind.GPU;
        rowKind = device.isCpu() ? RowKind.SERIAL : RowKind.GROUP;
    }

    public ClDevice device() {
        return device;
    }

    /** The GEMM kernel in use (chosen by device type; tests run both). */
    public GemmKind gemmKind() {
        return gemm;
    }

    public void setGemmKind(GemmKind kind) {
        gemm = kind;
    }

    /** The softmax / cross-entropy row kernels in use (chosen by device type; tests run both). */
    public RowKind rowKind() {
        return rowKind;
    }

    public void setRowKind(RowKind kind) {
        rowKind = kind;
    }

    /** Waits until every enqueued kernel has finished (timing). */
    public synchronized void finish() {
        CL.clFinish(queue);
    }

    /** Device-to-host reads so far ({@link #download} and {@link #sumOfSquares}): tests hold the ops to zero. */
    public synchronized long downloadCount() {
        return downloads;
    }

    @Override
    public String name() {
        return device.spec();
    }

    // ---- memory -----------------------------------------------------------------------------

    /**
     * Bytes of live tensors above which an allocation first asks the JVM to collect unreachable
     * storages (default 80% of the device's global memory). The JVM does not see device memory, so
     * without this a training loop could fill the device long before the heap needs a collection.
     */
    public void setMemoryLimit(long bytes) {
        memoryLimit = bytes;
    }

    public long memoryLimit() {
        return memoryLimit;
    }

    public long liveBytes() {
        return liveBytes.get();
    }

    private void reserve(long bytes) {
        for (int attempt = 0; attempt < 5 && liveBytes.get() + bytes > memoryLimit; attempt++) {
            System.gc();
            try {
                Thread.sleep(10L << attempt);   // the cleaner thread releases what the collection found
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        liveBytes.addAndGet(bytes);
    }

    @Override
    public synchronized Storage allocate(int n) {
        reserve(bytes(n));
        cl_mem m = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, bytes(n), null, null);
        submit(new ClCommand.Zero(m, bytes(n)));
        return new ClStorage(this, m, n, bytes(n));
    }

    @Override
    public synchronized Storage upload(float[] host) {
        reserve(bytes(host.length));
        cl_mem m = host.length == 0
                ? CL.clCreateBuffer(context, CL_MEM_READ_WRITE, bytes(0), null, null)
                : CL.clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes(host.length),
                        Pointer.to(host), null);
        if (recording != null) submit(new ClCommand.Upload(m, "upload", host.clone(), null, true));   // rewritten on replay
        return new ClStorage(this, m, host.length, bytes(host.length));
    }

    @Override
    public synchronized void download(Storage src, int offset, float[] dst, int n) {
        if (n == 0) return;
        check(src, (long) offset + n, "download");
        downloads++;
        CL.clEnqueueReadBuffer(queue, mem(src), CL_TRUE, (long) offset * Sizeof.cl_float, (long) n * Sizeof.cl_float,
                Pointer.to(dst), 0, null, null);
    }

    /** Overwrites {@code dst[0..host.length)} with host values (new inputs for a recorded {@link TaskGraph}). */
    public synchronized void write(Storage dst, float[] host) {
        check(dst, host.length, "write");
        if (host.length == 0) return;
        CL.clEnqueueWriteBuffer(queue, mem(dst), CL_TRUE, 0, bytes(host.length), Pointer.to(host), 0, null, null);
    }

    @Override
    public synchronized void writeEachStep(Storage dst, java.util.function.Supplier<float[]> values) {
        ClCommand.EachStep c = new ClCommand.EachStep(mem(dst), dst.size(), values);
        if (recording != null) {
            submit(c);
        } else {
            c.enqueue(queue);
        }
    }

    @Override
    public synchronized boolean recordingStep() {
        return recording != null;
    }

    @Override
    public synchronized void fill(Storage x, int offset, int n, float value) {
        check(x, (long) offset + n, "fill");
        k("fill").mem(x).i(offset).i(n).f(value).run(n);
    }

    @Override
    public synchronized void copy2d(Storage src, int sOff, int sLd, Storage dst, int dOff, int dLd, int rows, int cols,
                                    boolean accumulate) {
        if (rows == 0 || cols == 0) return;
        check(src, sOff + (long) (rows - 1) * sLd + cols, "copy2d source");
        check(dst, dOff + (long) (rows - 1) * dLd + cols, "copy2d destination");
        k("copy2d").mem(src).i(sOff).i(sLd).mem(dst).i(dOff).i(dLd).i(rows).i(cols).b(accumulate)
                .run2(cols, rows);
    }

    @Override
    public synchronized void axpy(float alpha, Storage x, Storage y, int n) {
        k("axpy").f(alpha).mem(x).mem(y).i(n).run(n);
    }

    @Override
    public synchronized void scale(Storage x, int n, float alpha) {
        k("scale").mem(x).i(n).f(alpha).run(n);
    }

    @Override
    public synchronized double sumOfSquares(Storage x, int n) {
        check(x, n, "sumOfSquares");
        return sumsOfSquares(new Storage[] {x}, new int[] {n})[0];
    }

    @Override
    public synchronized double[] sumsOfSquares(Storage... xs) {
        int[] n = new int[xs.length];
        for (int i = 0; i < xs.length; i++) n[i] = xs[i].size();
        return sumsOfSquares(xs, n);
    }

    /** Every buffer's partial sums into one scratch buffer, one read back, each sum added up in double. */
    private double[] sumsOfSquares(Storage[] xs, int[] n) {
        if (recording != null) {
            throw new IllegalStateException("sumOfSquares returns a device value to the host, which a recorded task "
                    + "graph cannot replay (host logic would keep the recorded value): run it outside the graph");
        }
        double[] out = new double[xs.length];
        if (xs.length == 0) return out;
        downloads++;
        int per = 2 * SUMSQ_ITEMS;
        cl_mem part = scratch(per * xs.length);
        for (int i = 0; i < xs.length; i++) k("sumsq_partial").mem(xs[i]).i(n[i]).mem(part).i(per * i).runExact(SUMSQ_ITEMS);
        float[] p = new float[per * xs.length];
        CL.clEnqueueReadBuffer(queue, part, CL_TRUE, 0, bytes(p.length), Pointer.to(p), 0, null, null);
        CL.clReleaseMemObject(part);
        for (int i = 0; i < xs.length; i++) {
            double s = 0;
            for (int j = per * i; j < per * (i + 1); j++) s += p[j];
            out[i] = s;
        }
        return out;
    }

    // ---- matrix multiply ----------------------------------------------------------------------

    @Override
    public synchronized void matmul(Storage a, int aStride, boolean transA, Storage b, int bStride, boolean transB,
                                    Storage c, int batch, int m, int n, int k, boolean accumulate) {
        if (batch == 0 || m == 0 || n == 0) return;
        check(a, (long) (batch - 1) * aStride + (long) m * k, "matmul A");
        check(b, (long) (batch - 1) * bStride + (long) k * n, "matmul B");
        check(c, (long) batch * m * n, "matmul C");
        int ars = transA ? 1 : k, acs = transA ? m : 1, brs = transB ? 1 : n, bcs = transB ? k : 1;
        if (gemm == GemmKind.CPU) {
            int panels = (n + 15) / 16;
            if (!transB && n % 16 == 0 && (long) k * n < PACK_ABOVE) {   // small B: read in place
                k("gemm_cpu").mem(a).i(aStride).i(ars).i(acs).mem(b).i(bStride).i(16).i(n).mem(c).i(m).i(n).i(k)
                        .b(accumulate).enqueue(new long[] {panels, ceil(m, cpuGemmRows), batch}, null);
                return;
            }
            // B packed into 16-column panels first (see gemm_cpu); a broadcast B (stride 0) once
            int bBatch = bStride == 0 ? 1 : batch;
            int bpStride = bStride == 0 ? 0 : panels * k * 16;
            cl_mem bp = scratch(bBatch * panels * k * 16);
            if (k > 0) {
                k("pack_b16").mem(b).i(bStride).i(brs).i(bcs).mem(bp).i(k).i(n)
                        .enqueue(new long[] {panels * 16L, k, bBatch}, null);
            }
            k("gemm_cpu").mem(a).i(aStride).i(ars).i(acs).mem(bp).i(bpStride).i(k * 16).i(16).mem(c).i(m).i(n).i(k)
                    .b(accumulate).enqueue(new long[] {panels, ceil(m, cpuGemmRows), batch}, null);
            CL.clReleaseMemObject(bp);
        } else {
            k("gemm_gpu").mem(a).i(aStride).i(ars).i(acs).mem(b).i(bStride).i(brs).i(bcs).mem(c).i(m).i(n).i(k)
                    .b(accumulate).enqueue(new long[] {ceil(n, 64) * 16L, ceil(m, 64) * 16L, batch}, new long[] {16, 16, 1});
        }
    }

    // ---- elementwise --------------------------------------------------------------------------

    @Override
    public synchronized void unary(UnaryOp op, Storage x, Storage y, int n) {
        k("unary").i(op.ordinal()).mem(x).mem(y).i(n).run(n);
    }

    @Override
    public synchronized void unaryBackward(UnaryOp op, Storage x, Storage y, Storage gy, Storage gx, int n) {
        k("unary_backward").i(op.ordinal()).mem(x).mem(y).mem(gy).mem(gx).i(n).run(n);
    }

    @Override
    public synchronized void affine(Storage x, Storage y, int n, float alpha, float beta) {
        k("affine").mem(x).mem(y).i(n).f(alpha).f(beta).run(n);
    }

    @Override
    public synchronized void binary(BinaryOp op, Storage a, int[] aStrides, Storage b, int[] bStrides, Storage out,
                                    int[] outShape) {
        int total = product(outShape);
        if (total == 0) return;
        int rank = outShape.length;
        int[] meta = new int[1 + 3 * rank];
        meta[0] = rank;
        for (int d = 0; d < rank; d++) {
            meta[1 + d] = outShape[d];
            meta[1 + rank + d] = aStrides[d];
            meta[1 + 2 * rank + d] = bStrides[d];
        }
        cl_mem m = ints(meta, "binary shape", null);
        k("binary").i(op.ordinal()).mem(a).mem(b).mem(out).mem(m).i(total).run(total);
        CL.clReleaseMemObject(m);   // freed once the kernel is done
    }

    @Override
    public synchronized void binaryBackward(BinaryOp op, int side, Storage a, int[] aStrides, Storage b, int[] bStrides,
                                            Storage gout, int[] outShape, Storage g) {
        if (side != 0 && side != 1) throw new IllegalArgumentException("binaryBackward: side must be 0 or 1, got " + side);
        int rank = outShape.length;
        if (rank > 8) throw new IllegalArgumentException("binaryBackward: rank " + rank + " > 8 is not supported on OpenCL");
        if (product(outShape) == 0) return;
        int[] sideStrides = side == 0 ? aStrides : bStrides;
        int[] kept = new int[rank], bcast = new int[rank];
        int nk = 0, nb = 0, keptTotal = 1, bcastTotal = 1;
        for (int d = 0; d < rank; d++) {
            if (outShape[d] == 1) continue;
            if (sideStrides[d] != 0) {
                kept[nk++] = d;
                keptTotal *= outShape[d];
            } else {
                bcast[nb++] = d;
                bcastTotal *= outShape[d];
            }
        }
        int[] meta = new int[3 + 3 * rank + nk + nb];
        meta[0] = rank;
        for (int d = 0; d < rank; d++) {
            meta[1 + d] = outShape[d];
            meta[1 + rank + d] = aStrides[d];
            meta[1 + 2 * rank + d] = bStrides[d];
        }
        meta[1 + 3 * rank] = nk;
        System.arraycopy(kept, 0, meta, 2 + 3 * rank, nk);
        meta[2 + 3 * rank + nk] = nb;
        System.arraycopy(bcast, 0, meta, 3 + 3 * rank + nk, nb);
        cl_mem m = ints(meta, "binaryBackward shape", null);
        k("binary_backward").i(op.ordinal()).i(side).mem(a).mem(b).mem(gout).mem(g).mem(m).i(keptTotal).i(bcastTotal)
                .run(keptTotal);
        CL.clReleaseMemObject(m);
    }

    // ---- reductions ---------------------------------------------------------------------------

    @Override
    public synchronized void sum(Storage x, Storage y, int outer, int dim, int inner) {
        k("reduce_sum").mem(x).mem(y).i(outer).i(dim).i(inner).run(outer * inner);
    }

    @Override
    public synchronized void max(Storage x, Storage y, Storage idx, int outer, int dim, int inner) {
        if (dim == 0) throw new IllegalArgumentException("max over an axis of size 0");
        k("reduce_max").mem(x).mem(y).memOrDummy(idx).b(idx != null).i(outer).i(dim).i(inner).run(outer * inner);
    }

    @Override
    public synchronized void maxBackward(Storage gy, Storage idx, Storage gx, int outer, int dim, int inner) {
        check(gx, (long) outer * dim * inner, "maxBackward gx");
        k("max_backward").mem(gy).mem(idx).mem(gx).i(outer).i(dim).i(inner).run(outer * inner);
    }

    @Override
    public synchronized void sumBackward(Storage gy, Storage gx, int outer, int dim, int inner) {
        k("sum_backward").mem(gy).mem(gx).i(outer).i(dim).i(inner).run(outer * dim * inner);
    }

    @Override
    public synchronized void segmentSum(Storage x, int[] segment, Storage y, int n, int segments) {
        IndexChecks.segments(segment, n, segments, "segmentSum");
        if (segments == 0) return;
        if (recording != null) {
            // the host-built CSR would be frozen into a plan: scan the segment ids themselves (same sums, same order)
            cl_mem seg = ints(segment, "segmentSum", a -> IndexChecks.segments(a, n, segments, "segmentSum"));
            k("segment_sum_scan").mem(x).mem(seg).mem(y).i(n).i(segments).run(segments);
            CL.clReleaseMemObject(seg);
            return;
        }
        Csr csr = Csr.of(segment, n, segments);
        cl_mem starts = ints(csr.starts, "segmentSum", null), order = ints(csr.order, "segmentSum", null);
        k("segment_sum").mem(x).mem(starts).mem(order).mem(y).i(segments).run(segments);
        CL.clReleaseMemObject(starts);
        CL.clReleaseMemObject(order);
    }

    @Override
    public synchronized void segmentSumBackward(Storage gy, int[] segment, Storage gx, int n) {
        IndexChecks.segments(segment, n, gy.size(), "segmentSumBackward");
        if (n == 0) return;
        int segments = gy.size();
        cl_mem seg = ints(segment, "segmentSumBackward", a -> IndexChecks.segments(a, n, segments, "segmentSumBackward"));
        k("segment_sum_backward").mem(gy).mem(seg).mem(gx).i(n).run(n);
        CL.clReleaseMemObject(seg);
    }

    // ---- softmax and losses -------------------------------------------------------------------

    @Override
    public synchronized void softmax(Storage x, Storage y, int rows, int cols, boolean log) {
        if (rows == 0 || cols == 0) return;
        cl_mem stats = scratch(2 * rows);
        rows(k(rowKind == RowKind.GROUP ? "softmax_stats_wg" : "softmax_stats").mem(x).mem(stats).i(rows).i(cols).b(log), rows);
        k("softmax_apply").mem(x).mem(stats).mem(y).i(rows).i(cols).b(log).run(rows * cols);
        CL.clReleaseMemObject(stats);
    }

    @Override
    public synchronized void softmaxBackward(Storage y, Storage gy, Storage gx, int rows, int cols, boolean log) {
        if (rows == 0 || cols == 0) return;
        cl_mem dot = scratch(rows);
        rows(k(rowKind == RowKind.GROUP ? "softmax_backward_stats_wg" : "softmax_backward_stats").mem(y).mem(gy).mem(dot)
                .i(rows).i(cols).b(log), rows);
        k("softmax_backward_apply").mem(y).mem(gy).mem(dot).mem(gx).i(rows).i(cols).b(log).run(rows * cols);
        CL.clReleaseMemObject(dot);
    }

    @Override
    public synchronized void crossEntropy(Storage logits, int[] target, Storage loss, Storage lse, int rows, int cols) {
        IndexChecks.targets(target, rows, cols);
        if (rows == 0) return;
        cl_mem t = ints(target, "crossEntropy", a -> IndexChecks.targets(a, rows, cols));
        rows(k(rowKind == RowKind.GROUP ? "cross_entropy_wg" : "cross_entropy").mem(logits).mem(t).mem(loss).mem(lse)
                .i(rows).i(cols), rows);
        CL.clReleaseMemObject(t);
    }

    @Override
    public synchronized void crossEntropyBackward(Storage logits, int[] target, Storage lse, Storage gloss, Storage gx,
                                                  int rows, int cols) {
        IndexChecks.targets(target, rows, cols);
        if (rows == 0) return;
        cl_mem t = ints(target, "crossEntropyBackward", a -> IndexChecks.targets(a, rows, cols));
        k("cross_entropy_backward").mem(logits).mem(t).mem(lse).mem(gloss).mem(gx).i(rows).i(cols).run(rows * cols);
        CL.clReleaseMemObject(t);
    }

    @Override
    public synchronized void inverseCount(int[] target, Storage out) {
        check(out, 1, "inverseCount");
        cl_mem t = ints(target, "inverseCount", a -> {});
        k("inverse_count").mem(t).i(target.length).mem(out).runExact(1);
        CL.clReleaseMemObject(t);
    }

    /** A row kernel: one work-item per row, or one work-group of {@link #ROW_GROUP} per row. */
    private void rows(Launch l, int rows) {
        if (rowKind == RowKind.GROUP) l.enqueue(new long[] {(long) rows * ROW_GROUP}, new long[] {ROW_GROUP});
        else l.run(rows);
    }

    // ---- normalisation ------------------------------------------------------------------------

    @Override
    public synchronized void layerNorm(Storage x, Storage w, Storage b, Storage y, Storage mean, Storage rstd,
                                       int rows, int cols, float eps) {
        if (rows == 0) return;
        k("layer_norm_stats").mem(x).mem(mean).mem(rstd).i(rows).i(cols).f(eps).run(rows);
        k("layer_norm_apply").mem(x).mem(w).memOrDummy(b).b(b != null).mem(mean).mem(rstd).mem(y).i(rows).i(cols)
                .run(rows * cols);
    }

    @Override
    public synchronized void layerNormBackward(Storage x, Storage w, Storage mean, Storage rstd, Storage gy,
                                               Storage gx, Storage gw, Storage gb, int rows, int cols) {
        if (rows == 0) return;
        if (gx != null) {
            cl_mem st = scratch(2 * rows);
            k("layer_norm_backward_stats").mem(x).mem(w).mem(mean).mem(rstd).mem(gy).mem(st).i(rows).i(cols).run(rows);
            k("layer_norm_backward_dx").mem(x).mem(w).mem(mean).mem(rstd).mem(gy).mem(st).mem(gx).i(rows).i(cols)
                    .run(rows * cols);
            CL.clReleaseMemObject(st);
        }
        if (gw != null || gb != null) {
            k("layer_norm_backward_dw").mem(x).mem(mean).mem(rstd).mem(gy).memOrDummy(gw).b(gw != null)
                    .memOrDummy(gb).b(gb != null).i(rows).i(cols).run(cols);
        }
    }

    @Override
    public synchronized void rmsNorm(Storage x, Storage w, Storage y, Storage rstd, int rows, int cols, float eps) {
        if (rows == 0) return;
        k("rms_norm_stats").mem(x).mem(rstd).i(rows).i(cols).f(eps).run(rows);
        k("rms_norm_apply").mem(x).mem(w).mem(rstd).mem(y).i(rows).i(cols).run(rows * cols);
    }

    @Override
    public synchronized void rmsNormBackward(Storage x, Storage w, Storage rstd, Storage gy, Storage gx, Storage gw,
                                             int rows, int cols) {
        if (rows == 0) return;
        if (gx != null) {
            cl_mem kk = scratch(rows);
            k("rms_norm_backward_stats").mem(x).mem(w).mem(rstd).mem(gy).mem(kk).i(rows).i(cols).run(rows);
            k("rms_norm_backward_dx").mem(x).mem(w).mem(rstd).mem(gy).mem(kk).mem(gx).i(rows).i(cols).run(rows * cols);
            CL.clReleaseMemObject(kk);
        }
        if (gw != null) k("rms_norm_backward_dw").mem(x).mem(rstd).mem(gy).mem(gw).i(rows).i(cols).run(cols);
    }

    // ---- transformer pieces -------------------------------------------------------------------

    @Override
    public synchronized void rope(Storage x, Storage y, int[] position, int batch, int seq, int heads, int headDim,
                                  float theta, boolean inverse) {
        int rows = batch * seq, half = headDim / 2;
        if (rows == 0 || half == 0) return;
        if (position.length < rows) {
            throw new IllegalArgumentException("rope: " + position.length + " positions for " + rows + " rows (B*T)");
        }
        cl_mem pos = ints(position, "rope positions", a -> {}), inv = floats(RopeFrequencies.inverse(headDim, theta), "rope");
        k("rope").mem(x).mem(y).mem(pos).mem(inv).i(rows).i(heads).i(headDim).b(inverse).run(rows * heads * half);
        CL.clReleaseMemObject(pos);
        CL.clReleaseMemObject(inv);
    }

    @Override
    public synchronized void attention(Storage q, Storage k, Storage v, Storage out, Storage probs, float[] keyMask,
                                       int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                                       float scale, boolean causal) {
        checkHeads(qHeads, kvHeads);
        int rows = batch * qHeads * seq;
        if (rows == 0) return;
        check(probs, (long) rows * keySeq, "attention probs");
        if (keyMask != null && keyMask.length < batch * keySeq) {
            throw new IllegalArgumentException("attention: keyMask has " + keyMask.length + " entries for B*S = "
                    + batch * keySeq);
        }
        cl_mem mask = keyMask == null ? null : floats(keyMask, "attention key mask");
        k("attention_probs").mem(q).mem(k).mem(mask == null ? dummy : mask).b(mask != null).mem(probs)
                .i(batch).i(seq).i(keySeq).i(qHeads).i(kvHeads).i(headDim).f(scale).b(causal).run(rows);
        k("attention_out").mem(probs).mem(v).mem(out).i(batch).i(seq).i(keySeq).i(qHeads).i(kvHeads).i(headDim)
                .run(rows * headDim);
        if (mask != null) CL.clReleaseMemObject(mask);
    }

    @Override
    public synchronized void attentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage gout,
                                               Storage gq, Storage gk, Storage gv,
                                               int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                                               float scale) {
        checkHeads(qHeads, kvHeads);
        int rows = batch * qHeads * seq;
        if (rows == 0 || keySeq == 0) return;
        cl_mem ds = null;
        if (gq != null || gk != null) {
            ds = scratch(rows * keySeq);
            k("attention_ds").mem(v).mem(probs).mem(gout).mem(ds).i(batch).i(seq).i(keySeq).i(qHeads).i(kvHeads)
                    .i(headDim).f(scale).run(rows);
        }
        if (gq != null) {
            k("attention_dq").mem(k).mem(ds).mem(gq).i(batch).i(seq).i(keySeq).i(qHeads).i(kvHeads).i(headDim)
                    .run(rows * headDim);
        }
        if (gk != null || gv != null) {
            k("attention_dkv").mem(q).mem(probs).mem(ds == null ? dummy : ds).mem(gout).memOrDummy(gk).b(gk != null)
                    .memOrDummy(gv).b(gv != null).i(batch).i(seq).i(keySeq).i(qHeads).i(kvHeads).i(headDim)
                    .run(batch * keySeq * kvHeads * headDim);
        }
        if (ds != null) CL.clReleaseMemObject(ds);
    }

    @Override
    public synchronized void gatherRows(Storage x, int[] index, Storage y, int cols) {
        if (index.length == 0 || cols == 0) return;
        int rows = x.size() / cols;
        IndexChecks.rows(index, index.length, rows, "gatherRows");
        cl_mem idx = ints(index, "gatherRows", a -> IndexChecks.rows(a, a.length, rows, "gatherRows"));
        k("gather_rows").mem(x).mem(idx).mem(y).i(index.length).i(cols).run(index.length * cols);
        CL.clReleaseMemObject(idx);
    }

    @Override
    public synchronized void scatterAddRows(Storage gy, int[] index, Storage gx, int cols, int skip) {
        if (index.length == 0 || cols == 0) return;
        int rows = gx.size() / cols;
        IndexChecks.rows(index, index.length, rows, "scatterAddRows");
        if (recording != null) {
            // the host-built CSR would be frozen into a plan: one work-item per column walks the
            // index itself, adding in ascending source order as the CSR kernel does (same sums)
            cl_mem idx = ints(index, "scatterAddRows", a -> IndexChecks.rows(a, a.length, rows, "scatterAddRows"));
            k("scatter_add_rows_scan").mem(gy).mem(idx).mem(gx).i(index.length).i(cols).i(skip).run(cols);
            CL.clReleaseMemObject(idx);
            return;
        }
        int[] dest = index;
        if (skip >= 0) {   // the CSR leaves out negative destinations
            dest = index.clone();
            for (int i = 0; i < dest.length; i++) if (dest[i] == skip) dest[i] = -1;
        }
        Csr csr = Csr.of(dest, dest.length, rows).compact();
        cl_mem dst = ints(csr.rows, "scatterAddRows", null), starts = ints(csr.starts, "scatterAddRows", null),
                order = ints(csr.order, "scatterAddRows", null);
        if (csr.rows.length > 0) {
            k("scatter_add_rows").mem(gy).mem(dst).mem(starts).mem(order).mem(gx).i(csr.rows.length).i(cols)
                    .run(csr.rows.length * cols);
        }
        CL.clReleaseMemObject(dst);
        CL.clReleaseMemObject(starts);
        CL.clReleaseMemObject(order);
    }

    @Override
    public synchronized void permute(Storage x, int[] shape, int[] perm, Storage y, boolean accumulate) {
        int rank = shape.length, total = product(shape);
        if (total == 0) return;
        int[] xStride = new int[rank];
        for (int a = rank - 1, s = 1; a >= 0; a--) {
            xStride[a] = s;
            s *= shape[a];
        }
        int[] meta = new int[1 + 2 * rank];
        meta[0] = rank;
        for (int a = 0; a < rank; a++) {
            meta[1 + a] = shape[perm[a]];
            meta[1 + rank + a] = xStride[perm[a]];
        }
        cl_mem m = ints(meta, "permute shape", null);
        k("permute").mem(x).mem(y).mem(m).i(total).b(accumulate).run(total);
        CL.clReleaseMemObject(m);
    }

    // ---- optimiser ----------------------------------------------------------------------------

    @Override
    public synchronized void adamw(Storage p, Storage g, Storage m, Storage v, int n, Storage scalars, int at,
                                   double beta1, double beta2, double eps) {
        check(scalars, at + 3L, "adamw scalars");
        // the CPU backend's scalars, rounded to float the same way (see its AdamWKernel)
        float w = (float) (1 - beta1);
        boolean smallWeight = Math.abs(w) < 0.5f;
        float coeff = smallWeight ? w : w - 1f;
        float b2 = (float) beta2, c2 = (float) (1 - beta2);
        k("adamw").mem(p).mem(g).mem(m).mem(v).i(n).mem(scalars).i(at).f(coeff).b(smallWeight).f(b2).f(c2)
                .f((float) eps).run(n);
    }

    // ---- preference loss (PreferenceKernels, preference.cl) ------------------------------------

    /**
     * An int array in device memory as a storage (freed when unreachable): index arrays a backward
     * reads later. {@code check} validates new values a task-graph input brings (null: none may).
     */
    synchronized Storage uploadInts(int[] a, String what, java.util.function.Consumer<int[]> check) {
        reserve(bytes(a.length));
        return new ClStorage(this, ints(a, what, check), a.length, bytes(a.length));
    }

    /** See {@link PreferenceKernels#forward}; shapes are checked there. */
    synchronized void preferenceForward(Storage lp, Storage ref, Storage ids, Storage sim, Storage simOffsets, int records,
                                        int seq, int flags, float beta, float labelSmoothing, float ipoMargin, float alpha,
                                        Storage sentences, Storage perRecord, Storage loss) {
        kp("pref_records").mem(lp).mem(ref).mem(ids).mem(sim).mem(simOffsets).i(records).i(seq).i(flags).f(beta)
                .f(labelSmoothing).f(ipoMargin).f(alpha).mem(sentences).mem(perRecord).run(records);
        kp("pref_mean").mem(perRecord).i(records).mem(loss).runExact(1);
    }

    /** See {@link PreferenceKernels#backward}. */
    synchronized void preferenceBackward(Storage gLoss, Storage perRecord, Storage sentences, Storage ids, Storage gLp,
                                         int records, int seq) {
        kp("pref_backward").mem(gLoss).mem(perRecord).mem(sentences).mem(ids).mem(gLp).i(records).i(seq)
                .run(2 * records * seq);
    }

    /** A kernel of {@code preference.cl}, a program of its own built on first use (see that file). */
    private Launch kp(String name) {
        if (preferenceProgram == null) {
            cl_program p = programOf("preference.cl");
            try {
                CL.clBuildProgram(p, 0, null, "-cl-fp32-correctly-rounded-divide-sqrt " + PreferenceKernels.buildOptions(), null, null);
            } catch (CLException e) {
                throw new IllegalStateException("OpenCL preference kernels failed to build on " + device + ": "
                        + buildLog(p), e);
            }
            preferenceProgram = p;
        }
        cl_kernel kernel = kernels.computeIfAbsent("preference.cl:" + name,
                s -> CL.clCreateKernel(preferenceProgram, name, null));
        return new Launch(name, kernel);
    }

    // ---- checks -------------------------------------------------------------------------------

    private static void check(Storage s, long need, String what) {
        if (s.size() < need) {
            throw new IllegalArgumentException(what + ": buffer of " + s.size() + " floats, needs " + need);
        }
    }

    private static void checkHeads(int qHeads, int kvHeads) {
        if (kvHeads <= 0 || qHeads % kvHeads != 0) {
            throw new IllegalArgumentException("attention: " + qHeads + " query heads is not a multiple of "
                    + kvHeads + " key/value heads");
        }
    }

    // ---- plumbing -----------------------------------------------------------------------------

    private static cl_mem mem(Storage s) {
        if (!(s instanceof ClStorage)) {
            throw new IllegalArgumentException("storage of backend " + s.backend().name()
                    + " passed to an OpenCL kernel: move tensors to one device first");
        }
        return ((ClStorage) s).mem;
    }

    private static long bytes(int n) {
        return (long) Math.max(1, n) * Sizeof.cl_float;   // OpenCL has no empty buffers
    }

    private static long ceil(int n, int d) {
        return (n + d - 1) / d;
    }

    private static int product(int[] shape) {
        int p = 1;
        for (int s : shape) p *= s;
        return p;
    }

    /**
     * A read-only device copy of an index array; released by the caller after enqueueing. While a
     * task graph records, the upload is kept ({@link ClCommand.Upload}) with {@code what} (the op,
     * for messages) and {@code check} (validates new values if the graph binds it to an input; null
     * for arrays derived inside the backend, which are never inputs).
     */
    private cl_mem ints(int[] a, String what, java.util.function.Consumer<int[]> check) {
        cl_mem m = a.length == 0
                ? CL.clCreateBuffer(context, CL_MEM_READ_ONLY, Sizeof.cl_int, null, null)
                : CL.clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (long) a.length * Sizeof.cl_int,
                        Pointer.to(a), null);
        if (recording != null) submit(new ClCommand.Upload(m, what, a.clone(), check, false));
        return m;
    }

    /** A read-only device copy of a float array, as {@link #ints} (any float value is valid). */
    private cl_mem floats(float[] a, String what) {
        cl_mem m = CL.clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes(a.length), Pointer.to(a),
                null);
        if (recording != null) submit(new ClCommand.Upload(m, what, a.clone(), a2 -> {}, false));
        return m;
    }

    private cl_mem scratch(int n) {
        return CL.clCreateBuffer(context, CL_MEM_READ_WRITE, bytes(n), null, null);
    }

    private Launch k(String name) {
        cl_kernel kernel = kernels.computeIfAbsent(name, s -> CL.clCreateKernel(program, s, null));
        return new Launch(name, kernel);
    }

    /** Enqueues {@code c}, and keeps it when a {@link TaskGraph} is recording (callers hold the lock). */
    private void submit(ClCommand c) {
        if (recording != null) {
            for (cl_mem m : c.buffers()) CL.clRetainMemObject(m);   // outlives its tensor, released by the plan
            recording.add(c);
        }
        c.enqueue(queue);
    }

    synchronized void startRecording(List<ClCommand> into) {
        if (recording != null) throw new IllegalStateException("a task graph is already recording on " + name());
        recording = into;
    }

    synchronized void stopRecording() {
        recording = null;
    }

    /**
     * Enqueues recorded commands again; an {@link ClCommand.Upload} bound to an input writes
     * {@code inputs[its input]} instead of its recorded values (the caller has checked them).
     */
    synchronized void replay(List<ClCommand> commands, Object[] inputs) {
        if (recording != null) throw new IllegalStateException("cannot replay a plan while a task graph records");
        for (ClCommand c : commands) {
            if (c instanceof ClCommand.Upload && ((ClCommand.Upload) c).input >= 0) {
                ClCommand.Upload u = (ClCommand.Upload) c;
                u.write(queue, inputs[u.input]);
            } else {
                c.enqueue(queue);
            }
        }
    }

    /** Collects a kernel's arguments in order, then submits the launch. */
    private final class Launch {
        private final String name;
        private final cl_kernel kernel;
        private final List<Object> args = new ArrayList<>();

        Launch(String name, cl_kernel kernel) {
            this.name = name;
            this.kernel = kernel;
        }

        Launch mem(Storage s) {
            return mem(OpenClBackend.mem(s));
        }

        Launch memOrDummy(Storage s) {
            return mem(s == null ? dummy : OpenClBackend.mem(s));
        }

        Launch mem(cl_mem m) {
            args.add(m);
            return this;
        }

        Launch i(int v) {
            args.add(v);
            return this;
        }

        Launch b(boolean v) {
            return i(v ? 1 : 0);
        }

        Launch f(float v) {
            args.add(v);
            return this;
        }

        /** One work-item per element of {@code n}, in work-groups of 64 (the kernels bound-check). */
        void run(int n) {
            if (n <= 0) return;
            enqueue(new long[] {ceil(n, LOCAL) * LOCAL}, new long[] {LOCAL});
        }

        void runExact(int n) {
            enqueue(new long[] {n}, null);
        }

        void run2(int n0, int n1) {
            enqueue(new long[] {ceil(n0, 16) * 16, ceil(n1, 4) * 4}, new long[] {16, 4});
        }

        void enqueue(long[] global, long[] local) {
            submit(new ClCommand.Launch(name, kernel, args.toArray(), global, local));
        }
    }

    private String buildLog() {
        return buildLog(program);
    }

    private String buildLog(cl_program program) {
        long[] size = new long[1];
        CL.clGetProgramBuildInfo(program, device.device, CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetProgramBuildInfo(program, device.device, CL_PROGRAM_BUILD_LOG, buf.length, Pointer.to(buf), null);
        return new String(buf, StandardCharsets.UTF_8).trim();
    }

    /** A program of {@code prelude.cl} and {@code file} (not built yet). */
    private cl_program programOf(String file) {
        return CL.clCreateProgramWithSource(context, 2, new String[] {source("prelude.cl"), source(file)}, null, null);
    }

    private static String source(String file) {
        try (InputStream in = OpenClBackend.class.getResourceAsStream(file)) {
            if (in == null) throw new IllegalStateException(file + " missing from the aspo-opencl jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }
}
