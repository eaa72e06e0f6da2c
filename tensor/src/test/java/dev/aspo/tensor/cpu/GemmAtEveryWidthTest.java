package dev.aspo.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every micro-kernel shape that {@link GemmShape} can choose, at 16, 8 and 4 floats per vector:
 * the JIT fixes the vector width when the JVM starts ({@code -XX:MaxVectorSize}) and Gemm fixes
 * its shape when it loads ({@code -Daspo.gemm.shape}), so each pair runs all of {@link GemmTest}
 * in a JVM of its own (one of them on one thread). The child reports the width and shape it actually ran, so a flag the JVM
 * ignored fails here instead of testing the default twice. {@link HalfGemmTest} (16-bit operands,
 * bit for bit the float32 product) runs in the same JVMs. A width the processor lacks (16 lanes
 * without AVX-512) is skipped.
 */
class GemmAtEveryWidthTest {
    static List<Object[]> widthsAndShapes() {
        List<Object[]> cases = new ArrayList<>();
        int cores = Runtime.getRuntime().availableProcessors();
        for (int lanes : new int[] {16, 8, 4}) {
            for (int[] s : GemmShape.SHAPES) cases.add(new Object[] {lanes, s[0] + "x" + s[1], cores});
        }
        cases.add(new Object[] {8, "6x2", 1});   // one thread: a product is never cut into parts
        return cases;
    }

    @ParameterizedTest(name = "{0} lanes, {1} tile, {2} threads")
    @MethodSource("widthsAndShapes")
    void gemmTestPassesInAJvmOfThatWidthAndShape(int lanes, String shape, int threads) throws Exception {
        assumeTrue(lanes <= FloatVector.SPECIES_PREFERRED.length(),
                "this processor's widest vector holds " + FloatVector.SPECIES_PREFERRED.length() + " floats");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "-XX:MaxVectorSize=" + lanes * Float.BYTES, "-Daspo.gemm.shape=" + shape, "-Daspo.threads=" + threads, "-Xmx1g",
                // larger regions than jvm.options' 1 MB, as a JVM left to choose takes with a larger heap:
                // GemmTest checks that the packed B buffer grows to half a region
                "-XX:+UseG1GC", "-XX:G1HeapRegionSize=4m",
                "-cp", System.getProperty("java.class.path"), Child.class.getName())
                .redirectErrorStream(true).start();
        String out;
        try {
            assertTrue(child.waitFor(5, TimeUnit.MINUTES), lanes + " lanes, " + shape + ": no answer in 5 minutes");
        } finally {
            out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            child.destroyForcibly();
        }
        assertEquals(0, child.exitValue(), lanes + " lanes, " + shape + " failed:\n" + out);
        assertTrue(out.contains("ran lanes=" + lanes + " shape=" + shape + " threads=" + threads + " "), "the child ran something else:\n" + out);
    }

    @Test
    void theTableGivesEachRegisterFileItsShape() {
        assertEquals("6x2", name(GemmShape.choose(16, 256)), "AVX2: 12 accumulators leave room for B and A");
        assertEquals("6x2", name(GemmShape.choose(16, 128)), "SSE / AVX at 128 bits: 16 registers as well");
        assertEquals("4x4", name(GemmShape.choose(32, 512)), "AVX-512");
        assertEquals("8x3", name(GemmShape.choose(32, 128)), "NEON");
        assertEquals("8x3", name(GemmShape.choose(32, 256)), "AVX-512VL held to 256 bits");
        for (int regs : new int[] {16, 32}) {
            for (int bits : new int[] {128, 256, 512}) {
                int[] s = GemmShape.choose(regs, bits);
                assertTrue(s[0] * s[1] + s[1] + 1 <= regs, regs + " registers, " + bits + " bits: " + name(s) + " would spill");
            }
        }
    }

    @Test
    void anUnknownShapeIsNamedWithTheKnownOnes() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> GemmShape.parse("5x5"));
        assertTrue(e.getMessage().contains("aspo.gemm.shape=5x5") && e.getMessage().contains("6x2"), e.getMessage());
    }

    private static String name(int[] shape) {
        return shape[0] + "x" + shape[1];
    }

    /** Runs every test of {@link GemmTest} and {@link HalfGemmTest} in this JVM; exit status 1 on the first failure. */
    static final class Child {
        public static void main(String[] args) throws IOException {
            System.out.println("ran lanes=" + Gemm.L + " shape=" + Gemm.MR + "x" + Gemm.NV + " threads=" + Parallel.THREADS + " ("
                    + GemmShape.describe() + ")");
            GemmTest t = new GemmTest();
            try {
                t.singleMatricesOfAwkwardShapes();
                t.skinnyRowsAndColumns();
                t.batchesWithAndWithoutBroadcastOperands();
                t.emptyInnerDimensionGivesZeroOrLeavesC();
                t.concurrentCallersKeepTheirOwnBuffers();
                t.tooSmallBuffersAreNamed();
                t.packedBBuffersAreLargeEnoughForG1ToPlaceThemAtARegionStart();
                HalfGemmTest h = new HalfGemmTest();
                h.singleMatricesOfAwkwardShapes();
                h.skinnyRowsAndColumns();
                h.batchesWithAndWithoutBroadcastOperands();
            } catch (Throwable e) {
                e.printStackTrace(System.out);
                System.exit(1);
            }
            System.exit(0);
        }
    }
}
