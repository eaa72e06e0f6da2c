package dev.aspo.method.train;

import dev.aspo.method.data.Record;
import java.util.List;

/** ASPO's image-text similarity {@code S_i} of each sentence of a response with the record's image. */
public interface SimilaritySource {
    /** One similarity per sentence text, for {@code record}'s (first) image. */
    double[] similarities(Record record, List<String> sentences);
}
