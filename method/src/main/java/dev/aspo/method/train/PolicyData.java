package dev.aspo.method.train;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Record;
import dev.aspo.method.data.Sequence;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A training or evaluation file made ready for the policy ({@link Trainer#prepare}): its records,
 * their token sequences (two per record: SFT response or chosen, then rejected or null), ASPO's
 * image-text similarities and weight orders, and the reference log-probs (DPO, ASPO).
 */
final class PolicyData {
    /** Whether records are preference pairs (DPO, ASPO) rather than SFT responses. */
    final boolean pairs;
    final List<Record> records = new ArrayList<>();
    final List<Sequence> sequences = new ArrayList<>();   // 2 * record + side; side 1 null for SFT
    final List<double[]> simChosen = new ArrayList<>(), simRejected = new ArrayList<>();
    int skipped;
    Reference reference;
    List<int[]> weightOrders;   // shuffle_weights: per record its permutation of the chosen sentences

    PolicyData(boolean pairs) {
        this.pairs = pairs;
    }

    /**
     * The rows of records {@code idx}: all chosen (or SFT responses) first, then all rejected;
     * padded to {@code padTo} positions (0: to the longest row).
     */
    Batch batch(int[] idx, int padId, int padTo) {
        List<Sequence> rows = new ArrayList<>();
        List<List<Path>> images = new ArrayList<>();
        for (int i : idx) {
            rows.add(sequences.get(2 * i));
            images.add(records.get(i).images());
        }
        if (pairs) {
            for (int i : idx) {
                rows.add(sequences.get(2 * i + 1));
                images.add(records.get(i).images());
            }
        }
        return new Batch(rows, padId, images, padTo);
    }

    /** The sequence indices of {@link #batch}'s rows (the reference log-probs' keys). */
    int[] keys(int[] idx) {
        int b = idx.length;
        int[] keys = new int[pairs ? 2 * b : b];
        for (int j = 0; j < b; j++) {
            keys[j] = 2 * idx[j];
            if (pairs) keys[b + j] = 2 * idx[j] + 1;
        }
        return keys;
    }

    /** With {@code shuffle_weights}, the fixed permutations of the records of {@code idx}; else null. */
    List<int[]> weightOrders(int[] idx) {
        if (weightOrders == null) return null;
        List<int[]> out = new ArrayList<>(idx.length);
        for (int i : idx) out.add(weightOrders.get(i));
        return out;
    }

    /** The file and line of the records of {@code idx}, for an error message. */
    String where(int[] idx) {
        List<String> w = new ArrayList<>();
        for (int i : idx) w.add(records.get(i).where());
        return String.join(", ", w);
    }
}
