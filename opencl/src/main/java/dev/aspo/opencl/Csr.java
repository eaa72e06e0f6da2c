package dev.aspo.opencl;

/**
 * Sources grouped by destination (compressed rows), built on the host from an index array so that
 * scatter-adds and segment sums run with one device work-item per destination, no atomics:
 * destination {@code u} sums {@code order[starts[u] .. starts[u+1])}, in ascending source order
 * (the order the CPU backend adds them in). Ids below 0 are skipped.
 */
final class Csr {
    /** Destination of each group (after {@link #compact}, else the identity). */
    final int[] rows;
    final int[] starts, order;

    private Csr(int[] rows, int[] starts, int[] order) {
        this.rows = rows;
        this.starts = starts;
        this.order = order;
    }

    static Csr of(int[] dest, int n, int destinations) {
        int[] starts = new int[destinations + 1];
        int used = 0;
        for (int i = 0; i < n; i++) {
            if (dest[i] >= 0) {
                starts[dest[i] + 1]++;
                used++;
            }
        }
        for (int d = 0; d < destinations; d++) starts[d + 1] += starts[d];
        int[] fill = starts.clone(), order = new int[used];
        for (int i = 0; i < n; i++) if (dest[i] >= 0) order[fill[dest[i]]++] = i;
        int[] rows = new int[destinations];
        for (int d = 0; d < destinations; d++) rows[d] = d;
        return new Csr(rows, starts, order);
    }

    /** Only the destinations that receive something (an embedding's gradient touches few rows). */
    Csr compact() {
        int count = 0;
        for (int d = 0; d < rows.length; d++) if (starts[d + 1] > starts[d]) count++;
        int[] r = new int[count], s = new int[count + 1];
        int u = 0;
        for (int d = 0; d < rows.length; d++) {
            if (starts[d + 1] > starts[d]) {
                r[u] = rows[d];
                s[u] = starts[d];
                u++;
            }
        }
        s[count] = order.length;
        return new Csr(r, s, order);
    }
}
