package dev.aspo.method.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metrics of a step or an evaluation from those of its micro-batches: record-weighted means,
 * except ASPO's {@code aspo/ratio_fallbacks} (a count: summed) and {@code aspo/omega_max} (a
 * maximum: the largest kept). Keys keep the order they first came in.
 */
final class MetricMeans {
    private static final String COUNT = "aspo/ratio_fallbacks", MAXIMUM = "aspo/omega_max";

    private final Map<String, Double> sums = new LinkedHashMap<>();
    private double weight;

    /** Adds a micro-batch's metrics, {@code records} records' worth. */
    void add(Map<String, Double> m, int records) {
        weight += records;
        m.forEach((k, v) -> sums.merge(k, k.equals(COUNT) || k.equals(MAXIMUM) ? v : v * records,
                k.equals(MAXIMUM) ? Math::max : Double::sum));
    }

    Map<String, Object> result() {
        Map<String, Object> out = new LinkedHashMap<>();
        sums.forEach((k, v) -> out.put(k, k.equals(COUNT) || k.equals(MAXIMUM) ? v : v / weight));
        return out;
    }
}
