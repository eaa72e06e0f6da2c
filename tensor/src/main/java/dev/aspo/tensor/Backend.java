package dev.aspo.tensor;

/**
 * The compute kernels every backend provides, on flat float32 buffers (llm.c style: buffers and
 * dimensions in, no shapes or autograd here). The op classes in {@code dev.aspo.tensor.ops} do the
 * shape logic and the autograd bookkeeping and call these; a new backend implements this interface
 * and every model, loss and trainer runs on it unchanged.
 *
 * <p>Conventions: matrices are row-major; {@code gx}-style outputs of backward kernels are
 * <em>accumulated into</em> ({@code +=}), so gradients flowing from several uses of a tensor add up
 * without temporaries. Index arrays ({@code int[]}) live on the host: they come from the data.
 * An output that is written ({@code =}) is written in full, masked and ignored positions included,
 * whatever it held before: ops hand such kernels buffers that still hold an earlier tensor's values
 * ({@link Tensor#unfilled}).
 */
public interface Backend {

    /** Short name as given to {@code --device} ({@code cpu}, {@code opencl:0:0}, ...). */
    String name();

    // ---- memory -----------------------------------------------------------------------------

    /** A new zero-filled buffer of {@code n} floats. */
    Storage allocate(int n);

    /** A new buffer holding a copy of {@code host}. */
    Storage upload(float[] host);

    /** Copies {@code n} floats of {@code src} from {@code offset} into {@code dst[0..n)}. */
    void download(Storage src, int offset, float[] dst, int n);

    void fill(Storage x, int offset, int n, float value);

    /**
     * Copies a block of {@code rows x cols} floats: {@code dst[dOff + r*dLd + c] (+)= src[sOff + r*sLd + c]}.
     * Slicing, concatenation and their gradients are all this one kernel.
     */
    void copy2d(Storage src, int sOff, int sLd, Storage dst, int dOff, int dLd, int rows, int cols,
                boolean accumulate);

    /** {@code y[i] += alpha * x[i]} for {@code i < n}. */
    void axpy(float alpha, Storage x, Storage y, int n);

    /** {@code x[i] *= alpha} for {@code i < n}. */
    void scale(Storage x, int n, float alpha);

    /** {@code sum x[i]^2} in double precision, returned to the host (gradient norms, checks). */
    double sumOfSquares(Storage x, int n);

    /**
     * {@link #sumOfSquares} of each whole buffer of {@code xs}, in order: one call for a set of
     * gradients, so that a device backend reads them back once, not once per buffer.
     */
    default double[] sumsOfSquares(Storage... xs) {
        double[] out = new double[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = sumOfSquares(xs[i], xs[i].size());
        return out;
    }

    // ---- matrix multiply ----------------------------------------------------------------------

    /**
     * Batched {@code C[b] (+)= op(A[b]) @ op(B[b])} for {@code b < batch}, with {@code op(A)} of
     * shape {@code [m,k]} and {@code op(B)} of shape {@code [k,n]}. {@code A[b]} starts at
     * {@code b*aStride} and is stored {@code [m,k]} row-major, or {@code [k,m]} when
     * {@code transA}; likewise B. A stride of 0 broadcasts one matrix over the batch. C is
     * contiguous {@code [batch,m,n]}.
     */
    void matmul(Storage a, int aStride, boolean transA, Storage b, int bStride, boolean transB,
                Storage c, int batch, int m, int n, int k, boolean accumulate);

    // ---- elementwise --------------------------------------------------------------------------

    /** {@code y[i] = f(x[i])}. */
    void unary(UnaryOp op, Storage x, Storage y, int n);

    /** {@code gx[i] += gy[i] * f'(x[i])}; {@code y = f(x)} is passed for ops whose derivative uses it. */
    void unaryBackward(UnaryOp op, Storage x, Storage y, Storage gy, Storage gx, int n);

    /** {@code y[i] = alpha * x[i] + beta}. */
    void affine(Storage x, Storage y, int n, float alpha, float beta);

    /**
     * Broadcasting {@code out[i] = a[ia] op b[ib]} over {@code outShape}; {@code aStrides} and
     * {@code bStrides} are the inputs' strides laid over {@code outShape} (0 where broadcast).
     */
    void binary(BinaryOp op, Storage a, int[] aStrides, Storage b, int[] bStrides, Storage out,
                int[] outShape);

    /**
     * Gradient of {@link #binary} for one side: {@code g[i_side] += gout[i] * d(a op b)/d(side)},
     * summed over the broadcast dimensions. {@code side} is 0 for a, 1 for b; {@code g} is laid out
     * with {@code side}'s strides.
     */
    void binaryBackward(BinaryOp op, int side, Storage a, int[] aStrides, Storage b, int[] bStrides,
                        Storage gout, int[] outShape, Storage g);

    // ---- reductions ---------------------------------------------------------------------------

    /** {@code y[o,i] = sum_d x[o,d,i]} for a tensor seen as {@code [outer, dim, inner]}. */
    void sum(Storage x, Storage y, int outer, int dim, int inner);

    /** {@code y[o,i] = max_d x[o,d,i]}, and the argmax in {@code idx} (as floats) when not null. */
    void max(Storage x, Storage y, Storage idx, int outer, int dim, int inner);

    /** Gradient of {@link #max}: {@code gx[o, idx[o,i], i] += gy[o,i]} (the argmax of the forward, as floats). */
    void maxBackward(Storage gy, Storage idx, Storage gx, int outer, int dim, int inner);

    /** Gradient of {@link #sum}: {@code gx[o,d,i] += gy[o,i]}. */
    void sumBackward(Storage gy, Storage gx, int outer, int dim, int inner);

    /**
     * Segment sum over token spans: {@code y[s] += x[t]} for every {@code t < n} with
     * {@code segment[t] = s >= 0}; {@code -1} skips a token. {@code y} is zeroed first.
     */
    void segmentSum(Storage x, int[] segment, Storage y, int n, int segments);

    /** Gradient of {@link #segmentSum}: {@code gx[t] += gy[segment[t]]}. */
    void segmentSumBackward(Storage gy, int[] segment, Storage gx, int n);

    // ---- softmax and losses -------------------------------------------------------------------

    /** Row-wise softmax (or log-softmax) of {@code x [rows, cols]} into {@code y}. */
    void softmax(Storage x, Storage y, int rows, int cols, boolean log);

    /** Gradient of {@link #softmax} from its output {@code y}: {@code gx += J^T gy}. */
    void softmaxBackward(Storage y, Storage gy, Storage gx, int rows, int cols, boolean log);

    /**
     * Per-row cross-entropy {@code loss[r] = logsumexp(x[r]) - x[r, target[r]]}, and 0 where
     * {@code target[r] < 0} (ignored). {@code lse[r]} keeps the log-sum-exp for the backward.
     */
    void crossEntropy(Storage logits, int[] target, Storage loss, Storage lse, int rows, int cols);

    /** {@code gx[r,c] += gloss[r] * (softmax(x[r])[c] - [c == target[r]])}, nothing for ignored rows. */
    void crossEntropyBackward(Storage logits, int[] target, Storage lse, Storage gloss, Storage gx,
                              int rows, int cols);

    /**
     * {@code out[0] = 1f / max(1, number of targets >= 0)} (float division): the mean cross-entropy's
     * factor, worked out where the targets are, so that a recorded step can take new ones.
     */
    void inverseCount(int[] target, Storage out);

    // ---- normalisation ------------------------------------------------------------------------

    /**
     * LayerNorm over rows of {@code x [rows, cols]}: {@code y = (x - mean) * rstd * w + b}; saves
     * {@code mean[rows]} and {@code rstd[rows]} for the backward. {@code b} may be null.
     */
    void layerNorm(Storage x, Storage w, Storage b, Storage y, Storage mean, Storage rstd,
                   int rows, int cols, float eps);

    /** Gradient of {@link #layerNorm}; any of {@code gx, gw, gb} may be null (not needed). */
    void layerNormBackward(Storage x, Storage w, Storage mean, Storage rstd, Storage gy,
                           Storage gx, Storage gw, Storage gb, int rows, int cols);

    /** RMSNorm: {@code y = x * rstd * w}, {@code rstd = 1/sqrt(mean(x^2) + eps)} saved per row. */
    void rmsNorm(Storage x, Storage w, Storage y, Storage rstd, int rows, int cols, float eps);

    /** Gradient of {@link #rmsNorm}; {@code gx} or {@code gw} may be null. */
    void rmsNormBackward(Storage x, Storage w, Storage rstd, Storage gy, Storage gx, Storage gw,
                         int rows, int cols);

    // ---- transformer pieces -------------------------------------------------------------------

    /**
     * Rotary position embedding, Llama's "rotate half" form, on {@code x [B, T, H, D]}:
     * for {@code j < D/2}, angle {@code = position[b*T+t] * theta^(-2j/D)},
     * {@code y[j] = x[j] cos - x[j+D/2] sin}, {@code y[j+D/2] = x[j+D/2] cos + x[j] sin}.
     * The angle is formed in float32 as HF's {@code LlamaRotaryEmbedding} does. Without
     * {@code inverse}, {@code y = R x} overwrites {@code y} (may be {@code x} itself). With
     * {@code inverse}, {@code y += R^T x} (the angle negated, accumulated): that is the backward,
     * called as {@code rope(gy, gx, ..., true)} like every other backward kernel.
     */
    void rope(Storage x, Storage y, int[] position, int batch, int seq, int heads, int headDim,
              float theta, boolean inverse);

    /**
     * Fused scaled-dot-product attention with grouped-query heads, in the projection layout
     * (no transposes): {@code q [B, T, Hq*D]}, {@code k, v [B, S, Hkv*D]}, {@code out [B, T, Hq*D]}.
     * Query head {@code h} reads key/value head {@code h / (Hq/Hkv)}. With {@code causal}, query
     * {@code t} sees keys {@code s <= t + S - T}. {@code keyMask [B, S]} (1 keep, 0 drop) may be
     * null. Probabilities {@code [B, Hq, T, S]} are written to {@code probs} for the backward; a
     * row with no visible key gives zeros.
     */
    void attention(Storage q, Storage k, Storage v, Storage out, Storage probs, float[] keyMask,
                   int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                   float scale, boolean causal);

    /**
     * Gradient of {@link #attention} from the saved probabilities (the causal and key masks are
     * in their zeros); accumulates into gq, gk, gv, any of which may be null (not needed).
     */
    void attentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage gout,
                           Storage gq, Storage gk, Storage gv,
                           int batch, int seq, int keySeq, int qHeads, int kvHeads, int headDim,
                           float scale);

    /** {@code y[i, :] = x[index[i], :]} for rows of length {@code cols} (embedding, index-select). */
    void gatherRows(Storage x, int[] index, Storage y, int cols);

    /**
     * Gradient of {@link #gatherRows}: {@code gx[index[i], :] += gy[i, :]} (scatter-add), in
     * ascending {@code i}, leaving out every {@code i} with {@code index[i] == skip} (an embedding's
     * padding row; -1 leaves out nothing).
     */
    void scatterAddRows(Storage gy, int[] index, Storage gx, int cols, int skip);

    /**
     * Permutes the axes of a contiguous tensor: {@code y} has shape {@code shape[perm[i]]}.
     * With {@code accumulate}, adds into {@code y} (the backward of a permute is the inverse
     * permute, accumulated).
     */
    void permute(Storage x, int[] shape, int[] perm, Storage y, boolean accumulate);

    // ---- optimiser ----------------------------------------------------------------------------

    /**
     * Writes {@code values.get()} into {@code dst} now. A backend that records steps for replay (the
     * OpenCL task graphs) keeps the supplier and calls it again at this point of every replay: the
     * way a recorded step takes host-computed values that change each step (AdamW's learning rate
     * and bias corrections) without re-running the Java that computed the rest of the step.
     */
    void writeEachStep(Storage dst, java.util.function.Supplier<float[]> values);

    /**
     * Whether this backend is recording a step for replay right now: state created once (optimiser
     * moments) must not be created inside a recording, where its zero-fill would be replayed.
     */
    default boolean recordingStep() {
        return false;
    }

    /**
     * One AdamW step on {@code n} parameters, as {@code torch.optim.AdamW}: decoupled weight decay
     * {@code p *= 1 - lr * wd} first, then {@code m = b1 m + (1-b1) g}, {@code v = b2 v + (1-b2) g^2},
     * {@code p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)} with {@code bc = 1 - beta^step}.
     * The step-dependent scalars come from the buffer {@code scalars} at {@code at}: {@code
     * [1 - lr wd, sqrt(bc2), -lr / bc1]}, worked out in double and rounded to float once
     * ({@link dev.aspo.tensor.optim.AdamW#stepScalars}), so that a recorded step can be replayed
     * with new values ({@link #writeEachStep}). The betas are doubles, as in torch's fused kernels:
     * a float {@code 0.999f} makes {@code 1 - beta2} wrong by 1.3e-5 relative.
     */
    void adamw(Storage p, Storage g, Storage m, Storage v, int n, Storage scalars, int at, double beta1,
               double beta2, double eps);
}
