package dev.aspo.models.image;

/**
 * Pillow's convolution resampling of 8-bit images ({@code Image.resize} with BILINEAR or BICUBIC),
 * reproduced exactly, so images resized here match transformers' PIL-based image processors bit
 * for bit. The algorithm (Pillow's {@code Resample.c}):
 *
 * <pre>
 *   per output column x: centre c = (x + 0.5) * scale, support s = filter support * max(scale, 1)
 *     taps i in [(int)(c - s + 0.5), (int)(c + s + 0.5)) clipped to the image,
 *     weight_i = filter((i - c + 0.5) / max(scale, 1)), normalised to sum 1 (in double),
 *     then fixed point: round-half-away(weight * 2^22) as int
 *   out = clamp(floor((2^21 + sum_i pixel_i * weight_i) / 2^22), 0, 255)       (int arithmetic)
 *
 *   src [H, W] --horizontal pass (only the rows the vertical pass reads)--> tmp [rows, W'] (uint8)
 *              --vertical pass--> out [H', W']
 * </pre>
 *
 * A pass whose size does not change is skipped (as in Pillow); downscaling widens the filter, so
 * it averages (antialiases) as Pillow does.
 */
public final class PillowResample {
    private PillowResample() {}

    /** The fixed-point precision Pillow uses for 8-bit images: 32 - 8 - 2 bits. */
    private static final int PRECISION_BITS = 22;

    /** Pillow's resampling filters that this class implements, with their PIL numbers. */
    public enum Filter {
        BILINEAR(2, 1.0),
        BICUBIC(3, 2.0);

        public final int pilNumber;
        final double support;

        Filter(int pilNumber, double support) {
            this.pilNumber = pilNumber;
            this.support = support;
        }

        double weight(double x) {
            if (x < 0) x = -x;
            if (this == BILINEAR) return x < 1.0 ? 1.0 - x : 0.0;
            final double a = -0.5;      // Pillow's (and Keys') cubic convolution
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }

        /** The filter with PIL number {@code n} (PILImageResampling), or an error naming the supported ones. */
        public static Filter fromPil(int n) {
            for (Filter f : values()) if (f.pilNumber == n) return f;
            throw new IllegalArgumentException("resample " + n + " is not supported (supported: 2 = bilinear, 3 = bicubic)");
        }
    }

    /** Taps of one pass: for output i, {@code count[i]} weights from input {@code first[i]} on. */
    private record Taps(int[] first, int[] count, int[] weights, int stride) {}

    /**
     * {@code src} holds {@code h} rows of {@code w} pixels with {@code channels} interleaved bytes
     * each; the result is {@code outH x outW} in the same layout.
     */
    public static byte[] resize(byte[] src, int w, int h, int channels, int outW, int outH, Filter filter) {
        if (w <= 0 || h <= 0 || outW <= 0 || outH <= 0 || src.length != w * h * channels) {
            throw new IllegalArgumentException("resize: " + w + "x" + h + "x" + channels + " (" + src.length
                    + " bytes) to " + outW + "x" + outH);
        }
        if (outW == w && outH == h) return src.clone();
        Taps horiz = taps(w, outW, filter), vert = taps(h, outH, filter);
        byte[] cur = src;
        int curW = w;
        int[] vFirst = vert.first.clone();
        if (outW != w) {
            // only the source rows the vertical pass will read
            int firstRow = outH != h ? vFirst[0] : 0;
            int lastRow = outH != h ? vFirst[outH - 1] + vert.count[outH - 1] : h;
            if (outH != h) for (int i = 0; i < outH; i++) vFirst[i] -= firstRow;
            cur = horizontal(src, w, channels, firstRow, lastRow - firstRow, outW, horiz);
            curW = outW;
        }
        if (outH == h) return cur;
        return vertical(cur, curW, channels, outH, new Taps(vFirst, vert.count, vert.weights, vert.stride));
    }

    private static Taps taps(int in, int out, Filter filter) {
        double scale = (double) in / out, filterScale = Math.max(scale, 1.0);
        double support = filter.support * filterScale;
        int stride = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[out], count = new int[out], weights = new int[out * stride];
        double[] k = new double[stride];
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale, ww = 0, ss = 1.0 / filterScale;
            int lo = Math.max((int) (center - support + 0.5), 0);
            int n = Math.min((int) (center + support + 0.5), in) - lo;
            for (int i = 0; i < n; i++) {
                k[i] = filter.weight((i + lo - center + 0.5) * ss);
                ww += k[i];
            }
            for (int i = 0; i < n; i++) {
                double v = ww != 0.0 ? k[i] / ww : k[i];
                weights[o * stride + i] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            first[o] = lo;
            count[o] = n;
        }
        return new Taps(first, count, weights, stride);
    }

    /** Rows {@code [row0, row0 + rows)} of {@code src} resampled along x to {@code outW} columns. */
    private static byte[] horizontal(byte[] src, int w, int ch, int row0, int rows, int outW, Taps t) {
        byte[] out = new byte[rows * outW * ch];
        for (int y = 0; y < rows; y++) {
            int srcRow = (row0 + y) * w * ch, dstRow = y * outW * ch;
            for (int x = 0; x < outW; x++) {
                int lo = t.first[x], n = t.count[x], kOff = x * t.stride;
                for (int c = 0; c < ch; c++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < n; i++) ss += (src[srcRow + (lo + i) * ch + c] & 0xff) * t.weights[kOff + i];
                    out[dstRow + x * ch + c] = clip8(ss);
                }
            }
        }
        return out;
    }

    /** {@code src} ({@code w} wide) resampled along y to {@code outH} rows. */
    private static byte[] vertical(byte[] src, int w, int ch, int outH, Taps t) {
        int rowLen = w * ch;
        byte[] out = new byte[outH * rowLen];
        for (int y = 0; y < outH; y++) {
            int lo = t.first[y], n = t.count[y], kOff = y * t.stride;
            for (int j = 0; j < rowLen; j++) {
                int ss = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < n; i++) ss += (src[(lo + i) * rowLen + j] & 0xff) * t.weights[kOff + i];
                out[y * rowLen + j] = clip8(ss);
            }
        }
        return out;
    }

    private static byte clip8(int v) {
        int s = v >> PRECISION_BITS;        // arithmetic shift: floor, also for negative sums
        return (byte) (s < 0 ? 0 : Math.min(s, 255));
    }
}
