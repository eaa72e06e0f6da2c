package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Sequence;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.IoErrors;
import dev.aspo.tensor.io.LongTensor;
import dev.aspo.tensor.io.SafeTensors;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reference log-probs computed once per dataset by a frozen model and kept per response token
 * (so per-sentence sums come free), on disk as {@code ref-logps-<key>.safetensors}:
 * <pre>
 *   logps   F32 [sum of response lengths]   row k's tokens at offsets[k] .. offsets[k+1]
 *   offsets I64 [2N + 1]                    k = 2 * record + side (0 chosen / response, 1 rejected)
 * </pre>
 * The key hashes the reference weights and the tokenised dataset: a different model or data
 * makes a new file, the same ones reuse it. Right padding does not change the values (see
 * {@link Batch}), so lookups equal what {@link FrozenReference} computes on any batch.
 */
public final class CachedReference implements Reference {
    private final float[] logps;
    private final long[] offsets;

    private CachedReference(float[] logps, long[] offsets) {
        this.logps = logps;
        this.offsets = offsets;
    }

    /**
     * Loads the cache for {@code key} from {@code dir}, or computes it with {@code frozen} over
     * {@code sequences} (index k = 2 * record + side; null entries for absent sides) in batches of
     * {@code batchSize}, and writes it.
     */
    public static CachedReference loadOrCompute(Path dir, String key, PolicyModel frozen, List<Sequence> sequences,
                                                int batchSize) throws IOException {
        return loadOrCompute(dir, key, frozen, sequences, null, batchSize);
    }

    /** As above, with the image files of each sequence (null: text only). */
    public static CachedReference loadOrCompute(Path dir, String key, PolicyModel frozen, List<Sequence> sequences,
                                                List<List<Path>> images, int batchSize) throws IOException {
        Path file = dir.resolve("ref-logps-" + key + ".safetensors");
        if (Files.isRegularFile(file)) {
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                long[] off = f.readLong("offsets").data();
                if (off.length == sequences.size() + 1) return checked(file, f.readFloatArray("logps"), off);
            } catch (IOException | RuntimeException e) {
                throw new StateFiles.StateFileException(file + ": unreadable reference log-prob cache (" + IoErrors.describe(e)
                        + "); delete the file: it is computed again");
            }
        }
        CachedReference c = compute(frozen, sequences, images, batchSize);
        Files.createDirectories(dir);
        SafeTensors.write(file, Map.of("logps", Tensor.of(c.logps, c.logps.length)),
                Map.of("offsets", new LongTensor(c.offsets, c.offsets.length)), Map.of("key", key));
        return c;
    }

    /**
     * The key of the cache of {@code sequences} under {@code ref}: SHA-256 (first 16 hex digits) of the
     * reference weights, the tokenised sequences (index k as in {@link #loadOrCompute}) and their images' bytes.
     */
    public static String key(PolicyModel ref, List<Sequence> sequences, List<List<Path>> images) throws IOException {
        MessageDigest md = Hashes.sha256();
        Hashes.update(md, ref.module());
        ByteBuffer ib = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        Map<Path, byte[]> imageHashes = new HashMap<>();
        for (int k = 0; k < sequences.size(); k++) {
            Sequence s = sequences.get(k);
            for (Path p : images.get(k)) {
                byte[] h = imageHashes.get(p);
                if (h == null) {
                    h = Hashes.sha256().digest(Files.readAllBytes(p));
                    imageHashes.put(p, h);
                }
                md.update(h);
            }
            if (s == null) {
                md.update((byte) 0);
                continue;
            }
            md.update(ib.clear().putInt(s.ids().length).putInt(s.promptLength()).array());
            ByteBuffer bb = ByteBuffer.allocate(s.ids().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bb.asIntBuffer().put(s.ids());
            md.update(bb.array());
        }
        return Hashes.hex(md);
    }

    /** A cache read from {@code file}, if its offsets and values are what {@link #compute} writes. */
    private static CachedReference checked(Path file, float[] logps, long[] off) {
        if (off[0] != 0 || off[off.length - 1] != logps.length) {
            throw new IllegalArgumentException("offsets do not span the " + logps.length + " log-probs");
        }
        for (int k = 1; k < off.length; k++) {
            if (off[k] < off[k - 1]) throw new IllegalArgumentException("offsets decrease at " + k);
        }
        for (float v : logps) {
            if (!(v <= 1e-3f)) throw new IllegalArgumentException("holds " + v + ", not a log-probability (<= 0)");
        }
        return new CachedReference(logps, off);
    }

    /** Computes the cache in memory (no file). */
    public static CachedReference compute(PolicyModel frozen, List<Sequence> sequences, List<List<Path>> images, int batchSize) {
        long[] off = new long[sequences.size() + 1];
        for (int k = 0; k < sequences.size(); k++) {
            Sequence s = sequences.get(k);
            off[k + 1] = off[k] + (s == null ? 0 : s.responseLength());
        }
        if (off[sequences.size()] == 0) throw new IllegalArgumentException("reference cache: no response tokens");
        float[] out = new float[Math.toIntExact(off[sequences.size()])];
        FrozenReference ref = new FrozenReference(frozen);
        List<Sequence> rows = new ArrayList<>();
        List<List<Path>> rowImages = new ArrayList<>();
        List<Integer> keys = new ArrayList<>();
        for (int k = 0; k <= sequences.size(); k++) {
            boolean flush = k == sequences.size() ? !rows.isEmpty() : rows.size() == batchSize;
            if (flush) {
                Batch b = new Batch(rows, frozen.padId(), images == null ? null : rowImages);
                float[] lp = ref.logps(b, null);
                for (int r = 0; r < rows.size(); r++) {
                    Sequence s = rows.get(r);
                    int at = (int) off[keys.get(r)];
                    // response token j is the target of position promptLength + j - 1
                    System.arraycopy(lp, r * b.seq + s.promptLength() - 1, out, at, s.responseLength());
                }
                rows.clear();
                rowImages.clear();
                keys.clear();
            }
            if (k < sequences.size() && sequences.get(k) != null) {
                rows.add(sequences.get(k));
                if (images != null) rowImages.add(images.get(k));
                keys.add(k);
            }
        }
        return new CachedReference(out, off);
    }

    @Override
    public float[] logps(Batch batch, int[] keys) {
        float[] out = new float[batch.batch * batch.seq];
        for (int r = 0; r < batch.batch; r++) {
            Sequence s = batch.rows.get(r);
            int k = keys[r];
            if (k < 0 || k + 1 >= offsets.length || offsets[k + 1] - offsets[k] != s.responseLength()) {
                throw new IllegalStateException("reference cache: no entry of " + s.responseLength() + " tokens for row key " + k);
            }
            System.arraycopy(logps, (int) offsets[k], out, r * batch.seq + s.promptLength() - 1, s.responseLength());
        }
        return out;
    }
}
