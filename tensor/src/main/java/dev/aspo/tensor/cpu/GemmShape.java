package dev.aspo.tensor.cpu;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.incubator.vector.FloatVector;

/**
 * The GEMM micro-kernel's shape (rows x vectors of C held in registers) and cache blocks, chosen
 * for the machine the JVM runs on: its vector width ({@code FloatVector.SPECIES_PREFERRED}, which
 * {@code -XX:MaxVectorSize} and {@code -XX:UseAVX} lower) and its number of vector registers.
 *
 * <pre>
 *  registers  vector    shape    accumulators + B vectors + broadcast   typical machine
 *     16      any        6 x 2         12     +     2     +    1 = 15    AVX2 (Haswell .. Zen 3)
 *     32      512 bit    4 x 4         16     +     4     +    1 = 21    AVX-512
 *     32      <= 256     8 x 3         24     +     3     +    1 = 28    NEON, AVX-512VL narrowed
 * </pre>
 *
 * The accumulators must leave room for the B vectors of one k step and a broadcast of A, or C2
 * spills them to the stack inside the loop: the 4 x 4 tile on 16 registers ran at a third of
 * PyTorch on AVX2 (docs/PERFORMANCE.md has the measurements behind each row). A taller tile
 * loads fewer B vectors per multiply-add; 4 x 4 stays the AVX-512 shape because it measured
 * fastest there. {@code -Daspo.gemm.shape=RxV} forces a shape (tests run every shape at every
 * width).
 */
final class GemmShape {
    private GemmShape() {}

    /** The shapes there is a micro-kernel for: {rows, vectors}. */
    static final int[][] SHAPES = {{4, 4}, {6, 2}, {8, 3}};

    /** Floats per vector. */
    static final int LANES = FloatVector.SPECIES_PREFERRED.length();
    /** Vector registers the JIT allocates from. */
    static final int REGISTERS = vectorRegisters();
    /** Whether the shape was forced with {@code -Daspo.gemm.shape}. */
    static final boolean FORCED = System.getProperty("aspo.gemm.shape") != null;
    private static final int[] CHOSEN = FORCED ? parse(System.getProperty("aspo.gemm.shape"))
            : choose(REGISTERS, FloatVector.SPECIES_PREFERRED.vectorBitSize());
    /** Rows of the micro-tile. */
    static final int MR = CHOSEN[0];
    /** Vectors of the micro-tile: its width is NV * LANES columns. */
    static final int NV = CHOSEN[1];

    /** Bytes of L1 data cache and of L2 per core (Linux sysfs; common sizes elsewhere). */
    static final int L1 = cacheBytes(1, 32 << 10), L2 = cacheBytes(2, 1 << 20);
    /**
     * Depth of a k block: the micro-panel of B it makes ({@code KC x NV*LANES} floats) is reused by
     * every micro-panel of A, so it should stay in L1 with room left for A's rows and the tile:
     * about two thirds of L1 (128 on AVX-512 with 48 KB, as measured before this class), between 64
     * and 384. A deeper block adds each tile into C fewer times: on AVX2 (6 x 2, 48 KB L1) 384
     * measured faster than 256 (BLIS's Haswell depth) and 512; for 8 x 3 at 128 and 256 bits 384
     * and 320 measured level with 256.
     */
    static final int KC = Integer.getInteger("aspo.gemm.kc",
            Math.max(64, Math.min(384, L1 * 2 / 3 / (NV * LANES * Float.BYTES) / 32 * 32)));
    /** Rows of A per block (it is re-read for every panel of B, from L2). */
    static final int MC = Integer.getInteger("aspo.gemm.mc", 128);
    /**
     * Columns of B per packed block. B's panels go to L1 one at a time while A's block stays in L2,
     * so the block need not fit L2; a narrower block only makes A's block be packed again for each
     * block of columns (an n = 1024 product packed A twice at 512). 4096: once up to 4096 columns
     * (the packed block is as wide as the product, so a narrow one takes little memory).
     */
    static final int NC = Integer.getInteger("aspo.gemm.nc", 4096);

    /** The table of the class comment. */
    static int[] choose(int registers, int vectorBits) {
        if (registers < 32) return new int[] {6, 2};
        return vectorBits >= 512 ? new int[] {4, 4} : new int[] {8, 3};
    }

    /** "RxV" to {R, V}, one of {@link #SHAPES}. */
    static int[] parse(String shape) {
        for (int[] s : SHAPES) {
            if ((s[0] + "x" + s[1]).equals(shape.trim())) return s;
        }
        StringBuilder known = new StringBuilder();
        for (int[] s : SHAPES) known.append(known.length() == 0 ? "" : ", ").append(s[0]).append('x').append(s[1]);
        throw new IllegalArgumentException("-Daspo.gemm.shape=" + shape + ": no micro-kernel of that shape (rows x vectors); there are " + known);
    }

    /**
     * 32 on AArch64 (NEON and SVE) and on x86 when C2 may use AVX-512's EVEX encoding
     * ({@code UseAVX} 3, which also gives 128- and 256-bit vectors registers xmm16-31); 16 on
     * x86 with AVX2 or less ({@code -XX:UseAVX=2} on an AVX-512 machine) and where unknown.
     */
    private static int vectorRegisters() {
        String arch = System.getProperty("os.arch", "");
        if (arch.equals("aarch64")) return 32;
        String avx = vmOption("UseAVX");                 // null: not HotSpot, not x86: assume the smaller file
        return avx != null && Integer.parseInt(avx) >= 3 ? 32 : 16;
    }

    /** A HotSpot VM option's value, or null where the JVM has no such option or no diagnostic bean. */
    private static String vmOption(String name) {
        try {
            return ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** G1's heap region size in bytes, 0 when the JVM does not use G1 (or does not say). */
    static final int G1_REGION_BYTES = g1RegionBytes();

    private static int g1RegionBytes() {
        String region = vmOption("G1HeapRegionSize");
        if (!Boolean.parseBoolean(vmOption("UseG1GC")) || region == null) return 0;
        return (int) Math.min(1 << 30, Long.parseLong(region));
    }

    /** The size of the level-{@code level} data (or unified) cache of cpu0, or {@code fallback}. */
    private static int cacheBytes(int level, int fallback) {
        for (int i = 0; i < 8; i++) {
            Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
            try {
                if (!Files.isDirectory(dir)) break;
                if (Integer.parseInt(Files.readString(dir.resolve("level")).trim()) != level) continue;
                if (Files.readString(dir.resolve("type")).trim().equals("Instruction")) continue;
                String size = Files.readString(dir.resolve("size")).trim();
                int mult = size.endsWith("K") ? 1 << 10 : size.endsWith("M") ? 1 << 20 : 1;
                return Integer.parseInt(size.replaceAll("[KM]$", "")) * mult;
            } catch (Exception e) {
                return fallback;
            }
        }
        return fallback;
    }

    /** One line for logs and benchmark headers: the shape and why. */
    static String describe() {
        return MR + "x" + NV + " (" + MR + " rows x " + NV + " vectors of " + LANES + " floats" + (FORCED ? ", forced" : "")
                + "; " + REGISTERS + " vector registers; KC " + KC + " MC " + MC + " NC " + NC + "; L1d " + (L1 >> 10)
                + " KB, L2 " + (L2 >> 10) + " KB)";
    }
}
