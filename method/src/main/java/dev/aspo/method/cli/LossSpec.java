package dev.aspo.method.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossConfig.LossType;
import dev.aspo.method.loss.LossConfig.Normalization;
import dev.aspo.method.loss.LossConfig.Objective;
import dev.aspo.method.loss.LossConfig.PerplexitySource;
import dev.aspo.method.loss.LossConfig.RejectedWeighting;
import dev.aspo.method.loss.LossConfig.WeightSource;
import dev.aspo.method.loss.SentenceIds;
import dev.aspo.models.hf.HfJson;
import dev.aspo.tensor.io.IoErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The input of {@code aspo loss}: options and records of per-token log-probs, read from JSON and
 * checked field by field. Every error is one line naming the field ({@code records[2].ref_chosen})
 * and what is wrong with it.
 *
 * <pre>
 * {
 *   "loss_type": "aspo",                      dpo | aspo                      (required)
 *   "beta": 0.1, "alpha": 0.5,                                                 (defaults)
 *   "normalization": "mean",                  mean | reward-ratio
 *   "perplexity_source": "policy",            policy | reference
 *   "rejected_weighting": "none",             none | inverse
 *   "weights": "adaptive",                    adaptive | oracle
 *   "objective": "sigmoid",                   sigmoid | ipo
 *   "label_smoothing": 0,
 *   "description": "...",                     free text, ignored
 *   "records": [ {
 *     "policy_chosen": [...], "ref_chosen": [...], "policy_rejected": [...], "ref_rejected": [...],
 *     "chosen_sentence_ids": [0, 0, 1, ...],   per token; -1: not in the response
 *     "similarity_chosen": [...],              per sentence
 *     "rejected_sentence_ids": [...], "similarity_rejected": [...],   for inverse
 *     "oracle_chosen": [...], "oracle_rejected": [...]                for weights = oracle
 *   } ]
 * }
 * </pre>
 */
record LossSpec(LossConfig config, List<Record> records) {
    private static final Set<String> TOP = Set.of("loss_type", "beta", "alpha", "normalization", "perplexity_source",
            "rejected_weighting", "weights", "objective", "label_smoothing", "description", "records");
    private static final Set<String> RECORD = Set.of("policy_chosen", "ref_chosen", "policy_rejected", "ref_rejected",
            "chosen_sentence_ids", "similarity_chosen", "rejected_sentence_ids", "similarity_rejected", "oracle_chosen",
            "oracle_rejected");

    /** One record; the optional arrays are null when absent. */
    record Record(double[] policyChosen, double[] refChosen, double[] policyRejected, double[] refRejected, int[] chosenIds,
                  double[] similarityChosen, int[] rejectedIds, double[] similarityRejected, double[] oracleChosen,
                  double[] oracleRejected) {}

    static LossSpec read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read it (" + IoErrors.reason(e) + ")");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + HfJson.describe(e));
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static LossSpec parse(JsonNode root) {
        if (root == null || !root.isObject()) throw new IllegalArgumentException("the spec must be a JSON object");
        checkKeys(root, TOP, "");
        if (!root.has("loss_type")) throw new IllegalArgumentException("loss_type: missing (dpo or aspo)");
        LossConfig c = LossConfig.aspo()
                .withLossType(enumOf(root, "loss_type", LossType.class, LossType.DPO))
                .withObjective(enumOf(root, "objective", Objective.class, Objective.SIGMOID))
                .withNormalization(enumOf(root, "normalization", Normalization.class, Normalization.MEAN))
                .withPerplexitySource(enumOf(root, "perplexity_source", PerplexitySource.class, PerplexitySource.POLICY))
                .withRejectedWeighting(enumOf(root, "rejected_weighting", RejectedWeighting.class, RejectedWeighting.NONE))
                .withWeightSource(enumOf(root, "weights", WeightSource.class, WeightSource.ADAPTIVE));
        double beta = number(root, "beta", 0.1), alpha = number(root, "alpha", 0.5), ls = number(root, "label_smoothing", 0);
        if (!(beta > 0)) throw new IllegalArgumentException("beta: must be positive, got " + beta);
        if (!(alpha >= 0 && alpha <= 1)) throw new IllegalArgumentException("alpha: must be in [0, 1], got " + alpha);
        if (!(ls >= 0 && ls <= 0.5)) throw new IllegalArgumentException("label_smoothing: must be in [0, 0.5], got " + ls);
        if (ls > 0 && c.objective() != Objective.SIGMOID) {
            throw new IllegalArgumentException("label_smoothing: applies to the sigmoid objective only, not " + c.objective().key());
        }
        LossConfig config = c.withBeta(beta).withAlpha(alpha).withLabelSmoothing(ls);
        if (root.has("description") && !root.get("description").isTextual()) {
            throw new IllegalArgumentException("description: must be a string");
        }

        JsonNode recs = root.get("records");
        if (recs == null || !recs.isArray() || recs.isEmpty()) {
            throw new IllegalArgumentException("records: must be a non-empty array of records");
        }
        List<Record> records = new ArrayList<>();
        for (int i = 0; i < recs.size(); i++) records.add(record(recs.get(i), "records[" + i + "]", config));
        return new LossSpec(config, records);
    }

    private static Record record(JsonNode r, String at, LossConfig config) {
        if (!r.isObject()) throw new IllegalArgumentException(at + ": must be an object");
        checkKeys(r, RECORD, at + ".");
        double[] pc = numbers(r, at, "policy_chosen", true), rc = numbers(r, at, "ref_chosen", true);
        double[] pr = numbers(r, at, "policy_rejected", true), rr = numbers(r, at, "ref_rejected", true);
        sameLength(at, "ref_chosen", rc, "policy_chosen", pc);
        sameLength(at, "ref_rejected", rr, "policy_rejected", pr);

        boolean oracle = config.weightSource() == WeightSource.ORACLE;
        int[] chosenIds = ids(r, at, "chosen_sentence_ids", pc, "policy_chosen", config.weightsChosen());
        double[] simC = numbers(r, at, "similarity_chosen", false), oracleC = numbers(r, at, "oracle_chosen", false);
        if (config.weightsChosen()) {
            int k = SentenceIds.count(chosenIds, at + ".chosen_sentence_ids");
            perSentence(at, "similarity_chosen", simC, k, !oracle && config.alpha() > 0, "loss_type aspo with alpha > 0");
            perSentence(at, "oracle_chosen", oracleC, k, oracle, "weights oracle");
        }
        int[] rejectedIds = ids(r, at, "rejected_sentence_ids", pr, "policy_rejected", config.weightsRejected());
        double[] simR = numbers(r, at, "similarity_rejected", false), oracleR = numbers(r, at, "oracle_rejected", false);
        if (config.weightsRejected()) {
            int k = SentenceIds.count(rejectedIds, at + ".rejected_sentence_ids");
            perSentence(at, "similarity_rejected", simR, k, !oracle && config.alpha() > 0,
                    "rejected_weighting inverse with alpha > 0");
            perSentence(at, "oracle_rejected", oracleR, k, oracle, "weights oracle with rejected_weighting inverse");
        }
        for (double[] o : new double[][] {oracleC, oracleR}) {
            if (o == null) continue;
            for (int i = 0; i < o.length; i++) {
                if (!(o[i] >= 0 && o[i] <= 1)) {
                    throw new IllegalArgumentException(at + "." + (o == oracleC ? "oracle_chosen" : "oracle_rejected") + "[" + i
                            + "]: " + o[i] + " is not in [0, 1]");
                }
            }
        }
        return new Record(pc, rc, pr, rr, chosenIds, simC, rejectedIds, simR, oracleC, oracleR);
    }

    /** Sentence ids of a response: required when it is weighted; checked for length and for a token in the response. */
    private static int[] ids(JsonNode r, String at, String field, double[] tokens, String tokensField, boolean required) {
        JsonNode node = r.get(field);
        if (node == null || node.isNull()) {
            if (required) throw new IllegalArgumentException(at + "." + field + ": missing (one sentence id per token of " + tokensField + ")");
            return null;
        }
        if (!node.isArray()) throw new IllegalArgumentException(at + "." + field + ": must be an array of integers");
        int[] ids = new int[node.size()];
        for (int t = 0; t < ids.length; t++) {
            JsonNode v = node.get(t);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new IllegalArgumentException(at + "." + field + "[" + t + "]: " + v + " is not an integer");
            }
            ids[t] = v.intValue();
        }
        if (ids.length != tokens.length) {
            throw new IllegalArgumentException(at + "." + field + ": " + ids.length + " ids, but " + tokensField + " has "
                    + tokens.length + " tokens");
        }
        if (SentenceIds.count(ids, at + "." + field) == 0) {
            throw new IllegalArgumentException(at + "." + field + ": no token is in the response (every id is -1)");
        }
        return ids;
    }

    private static void perSentence(String at, String field, double[] values, int k, boolean required, String why) {
        if (values == null) {
            if (required) throw new IllegalArgumentException(at + "." + field + ": missing (" + why + " needs one value per sentence, "
                    + k + " here)");
            return;
        }
        if (values.length != k) {
            throw new IllegalArgumentException(at + "." + field + ": " + values.length + " values for " + k + " sentences");
        }
    }

    private static void sameLength(String at, String field, double[] a, String other, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(at + "." + field + ": " + a.length + " values, but " + other + " has " + b.length);
        }
    }

    private static double[] numbers(JsonNode r, String at, String field, boolean required) {
        JsonNode node = r.get(field);
        if (node == null || node.isNull()) {
            if (required) throw new IllegalArgumentException(at + "." + field + ": missing");
            return null;
        }
        if (!node.isArray() || (required && node.isEmpty())) {
            throw new IllegalArgumentException(at + "." + field + ": must be " + (required ? "a non-empty" : "an") + " array of numbers");
        }
        double[] out = new double[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                throw new IllegalArgumentException(at + "." + field + "[" + i + "]: " + v + " is not a finite number");
            }
            out[i] = v.doubleValue();
        }
        return out;
    }

    private static double number(JsonNode root, String field, double fallback) {
        JsonNode v = root.get(field);
        if (v == null) return fallback;
        if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw new IllegalArgumentException(field + ": " + v + " is not a finite number");
        }
        return v.doubleValue();
    }

    private static <E extends Enum<E> & LossConfig.Keyed> E enumOf(JsonNode root, String field, Class<E> type, E fallback) {
        JsonNode v = root.get(field);
        if (v == null) return fallback;
        if (!v.isTextual()) throw new IllegalArgumentException(field + ": " + v + " is not a string");
        return LossConfig.parse(type, v.textValue(), field);
    }

    private static void checkKeys(JsonNode node, Set<String> known, String prefix) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key)) {
                throw new IllegalArgumentException(prefix + key + ": unknown field (known: " + String.join(", ", known.stream().sorted().toList())
                        + ")");
            }
        }
    }
}
