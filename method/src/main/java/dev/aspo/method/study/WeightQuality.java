package dev.aspo.method.study;

import dev.aspo.method.data.Batch;
import dev.aspo.method.data.Record;
import dev.aspo.method.data.Sequence;
import dev.aspo.method.data.SequenceEncoder;
import dev.aspo.method.loss.SentenceWeights;
import dev.aspo.method.loss.TokenLogProbs;
import dev.aspo.method.train.PolicyModel;
import dev.aspo.method.train.SimilaritySource;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import dev.aspo.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How well ASPO's sentence weights tell correct sentences from wrong ones: the weights
 * {@code w_i = alpha S'_i + (1 - alpha) P'_i} of every chosen response (docs/METHOD.md steps 3-6, the
 * perplexity from {@code policy}), scored against the judge's labels by {@link Auroc}, correct
 * sentences the positives. Responses of one sentence are left out: min-max gives them weight 0
 * whatever they say.
 */
public final class WeightQuality {
    private WeightQuality() {}

    /** AUROC over the chosen sentences of {@code records} (each with {@code chosenLabels}); NaN when one class is empty. */
    public static double auroc(PolicyModel policy, Tokenizer tokenizer, SimilaritySource similarity, double alpha,
                               List<Record> records, int maxLength) {
        return auroc(policy, tokenizer, similarity, alpha, records, maxLength, false);
    }

    /**
     * The same; with {@code shuffled} each answer's weights are first permuted among its sentences
     * (seeded by the record's index, as the trainer's {@code shuffle_weights}): the control's weights.
     */
    public static double auroc(PolicyModel policy, Tokenizer tokenizer, SimilaritySource similarity, double alpha,
                               List<Record> records, int maxLength, boolean shuffled) {
        SequenceEncoder enc = new SequenceEncoder(tokenizer, policy.eosId(), maxLength);
        List<Double> scores = new ArrayList<>();
        List<Boolean> labels = new ArrayList<>();
        int bs = 16;
        for (int from = 0; from < records.size(); from += bs) {
            List<Record> part = records.subList(from, Math.min(records.size(), from + bs));
            List<Sequence> rows = new ArrayList<>();
            List<List<Path>> images = new ArrayList<>();
            for (Record r : part) {
                rows.add(enc.encode(policy.promptText(r.prompt(), r.images().size()), r.chosen(), r.where()));
                images.add(r.images());
            }
            Batch b = new Batch(rows, policy.padId(), images);
            float[] lp;
            try (var g = Autograd.noGrad()) {
                Tensor logits = policy.logits(b);
                lp = TokenLogProbs.of(logits, b.targets).toFloatArray();
            }
            for (int j = 0; j < part.size(); j++) {
                Record r = part.get(j);
                int k = rows.get(j).sentences().size();
                if (k < 2) continue;
                if (r.chosenLabels() == null || r.chosenLabels().length != k) {
                    throw new IllegalArgumentException(r.where() + ": need one chosen_sentence_label per sentence (" + k + ")");
                }
                double[] sums = new double[k];
                int[] counts = new int[k];
                int[] ids = b.rowSentenceIds(j);
                for (int p = 0; p < ids.length; p++) {
                    if (ids[p] < 0) continue;
                    sums[ids[p]] += lp[j * b.seq + p];
                    counts[ids[p]]++;
                }
                double[] s = alpha > 0 ? SentenceWeights.minMax(similarity.similarities(r, rows.get(j).sentences())) : null;
                double[] w = SentenceWeights.fuse(alpha, s, SentenceWeights.perplexityScores(sums, counts));
                if (shuffled) {
                    List<Double> list = new ArrayList<>();
                    for (double v : w) list.add(v);
                    java.util.Collections.shuffle(list, new java.util.Random(from + j));
                    for (int i = 0; i < k; i++) w[i] = list.get(i);
                }
                for (int i = 0; i < k; i++) {
                    scores.add(w[i]);
                    labels.add(r.chosenLabels()[i] >= 0.5);
                }
            }
        }
        return Auroc.of(scores, labels);
    }
}
