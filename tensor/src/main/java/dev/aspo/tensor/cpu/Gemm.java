package dev.aspo.tensor.cpu;

/** Batched matrix multiply (see {@link dev.aspo.tensor.Backend#matmul}). */
final class Gemm {
    private Gemm() {}

    static void matmul(float[] a, int aStride, boolean transA, float[] b, int bStride, boolean transB,
                       float[] c, int batch, int m, int n, int k, boolean accumulate) {
        for (int bi = 0; bi < batch; bi++) {
            int ao = bi * aStride, bo = bi * bStride, co = bi * m * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? a[ao + p * m + i] : a[ao + i * k + p];
                        float bv = transB ? b[bo + j * k + p] : b[bo + p * n + j];
                        s += av * bv;
                    }
                    c[co + i * n + j] = accumulate ? c[co + i * n + j] + s : s;
                }
            }
        }
    }
}
