package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.loss.AspoReference;
import dev.aspo.method.loss.AspoReference.Pair;
import dev.aspo.method.loss.AspoReference.Resp;
import dev.aspo.method.loss.LossConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @TempDir
    Path dir;

    private StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        out = new StringWriter();
        err = new StringWriter();
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    /** A file of the repository, found from the module directory the tests run in. */
    private static Path repoFile(String relative) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve(relative);
            if (Files.exists(candidate)) return candidate;
        }
        throw new AssertionError(relative + " not found above " + Path.of("").toAbsolutePath());
    }

    /** Runs {@code aspo loss} on a spec and parses stdout, which must be exactly one JSON object. */
    private JsonNode runSpec(JsonNode spec) throws IOException {
        Path file = dir.resolve("spec.json");
        Files.writeString(file, JSON.writeValueAsString(spec));
        return runFile(file);
    }

    private JsonNode runFile(Path file) throws IOException {
        assertEquals(0, run("loss", "--input", file.toString()), err.toString());
        assertEquals("", err.toString());
        JsonNode result = JSON.readTree(out.toString());   // fails on anything after the object
        assertTrue(result.isObject(), out.toString());
        return result;
    }

    // ---- the worked example of docs/ASPO-LOSS.md ---------------------------------------------------

    @Test
    void docExampleMatchesAnIndependentComputationAndThePage() throws IOException {
        Path specFile = repoFile("docs/examples/aspo-loss.json");
        JsonNode spec = JSON.readTree(Files.readString(specFile));
        JsonNode got = runFile(specFile);
        assertMatchesReference(spec, got);

        // the output block printed on the page is this output
        String page = Files.readString(repoFile("docs/ASPO-LOSS.md"));
        int marker = page.indexOf("<!-- aspo-loss-output");
        assertTrue(marker >= 0, "the page has the output marker");
        int start = page.indexOf("```json\n", marker) + "```json\n".length();
        int end = page.indexOf("```", start);
        JsonNode printed = JSON.readTree(page.substring(start, end));
        assertSameTree("docs/ASPO-LOSS.md", printed, got);
    }

    @Test
    void docExampleUnderRewardRatioFallsBackWithTheSameNumbers() throws IOException {
        ObjectNode spec = (ObjectNode) JSON.readTree(Files.readString(repoFile("docs/examples/aspo-loss.json")));
        JsonNode mean = runSpec(spec);
        spec.put("normalization", "reward-ratio");
        JsonNode ratio = runSpec(spec);
        // R_c = -0.25 and R_c* = 0.175 have different signs (worked out on the page)
        assertTrue(ratio.at("/records/0/fallback").booleanValue());
        assertEquals(1.0, ratio.at("/metrics/aspo~1ratio_fallbacks").doubleValue());
        assertEquals(mean.get("loss").doubleValue(), ratio.get("loss").doubleValue());
        assertEquals(mean.get("grad"), ratio.get("grad"));
        assertMatchesReference(spec, ratio);
    }

    // ---- random specs under every option against the plain reference ------------------------------

    @Test
    void randomSpecsMatchThePlainReference() throws IOException {
        Random rng = new Random(31);
        String[][] options = {
            {"loss_type", "dpo"},
            {"loss_type", "aspo"},
            {"loss_type", "aspo", "normalization", "reward-ratio"},
            {"loss_type", "aspo", "perplexity_source", "reference", "alpha", "0.25", "beta", "0.5"},
            {"loss_type", "aspo", "rejected_weighting", "inverse"},
            {"loss_type", "aspo", "rejected_weighting", "inverse", "normalization", "reward-ratio"},
            {"loss_type", "aspo", "objective", "ipo"},
            {"loss_type", "dpo", "objective", "ipo", "beta", "0.3"},
            {"loss_type", "aspo", "label_smoothing", "0.1"},
            {"loss_type", "aspo", "weights", "oracle", "rejected_weighting", "inverse"},
            {"loss_type", "aspo", "alpha", "0"},
        };
        for (String[] option : options) {
            for (int trial = 0; trial < 3; trial++) {
                ObjectNode spec = JSON.createObjectNode();
                for (int i = 0; i < option.length; i += 2) {
                    if (option[i + 1].matches("[0-9.]+")) spec.put(option[i], Double.parseDouble(option[i + 1]));
                    else spec.put(option[i], option[i + 1]);
                }
                ArrayNode records = spec.putArray("records");
                for (int b = 0, n = 1 + rng.nextInt(4); b < n; b++) records.add(randomRecord(rng));
                JsonNode asWritten = JSON.readTree(JSON.writeValueAsString(spec));   // the numbers as the command reads them
                assertMatchesReference(asWritten, runSpec(spec));
            }
        }
    }

    private static ObjectNode randomRecord(Random rng) {
        ObjectNode r = JSON.createObjectNode();
        for (String side : new String[] {"chosen", "rejected"}) {
            int k = 1 + rng.nextInt(4);
            ArrayNode ids = JSON.createArrayNode(), policy = JSON.createArrayNode(), ref = JSON.createArrayNode();
            ArrayNode sim = JSON.createArrayNode(), oracle = JSON.createArrayNode();
            if (rng.nextBoolean()) ids.add(-1);   // a prompt token
            for (int s = 0; s < k; s++) {
                for (int j = 0, len = 1 + rng.nextInt(3); j < len; j++) ids.add(s);
                sim.add((float) (0.1 + 0.3 * rng.nextDouble()));
                oracle.add(rng.nextInt(2));
            }
            for (int t = 0; t < ids.size(); t++) {
                policy.add((float) (-3 * rng.nextDouble()));
                ref.add((float) (-3 * rng.nextDouble()));
            }
            r.set("policy_" + side, policy);
            r.set("ref_" + side, ref);
            r.set(side.equals("chosen") ? "chosen_sentence_ids" : "rejected_sentence_ids", ids);
            r.set("similarity_" + side, sim);
            r.set("oracle_" + side, oracle);
        }
        return r;
    }

    /** Values, weights and gradients of the output against the plain double reference on the spec's inputs. */
    private static void assertMatchesReference(JsonNode spec, JsonNode got) {
        LossConfig cfg = LossSpec.parse(spec).config();
        JsonNode records = spec.get("records");
        Pair[] pairs = new Pair[records.size()];
        for (int b = 0; b < pairs.length; b++) {
            JsonNode r = records.get(b);
            pairs[b] = new Pair(
                    new Resp(doubles(r, "policy_chosen"), doubles(r, "ref_chosen"), ints(r, "chosen_sentence_ids"),
                            doubles(r, "similarity_chosen"), doubles(r, "oracle_chosen")),
                    new Resp(doubles(r, "policy_rejected"), doubles(r, "ref_rejected"), ints(r, "rejected_sentence_ids"),
                            doubles(r, "similarity_rejected"), doubles(r, "oracle_rejected")));
        }
        double mean = 0;
        double[][] omegaC = new double[pairs.length][], omegaR = new double[pairs.length][];
        for (int b = 0; b < pairs.length; b++) {
            AspoReference.Result ref = AspoReference.pair(cfg, pairs[b]);
            JsonNode rec = got.get("records").get(b);
            String at = spec + " records[" + b + "]";
            close(at + ".loss", ref.loss(), rec.get("loss").doubleValue(), 1e-5);
            close(at + ".reward_chosen", ref.rc(), rec.get("reward_chosen").doubleValue(), 1e-5);
            close(at + ".reward_rejected", ref.rr(), rec.get("reward_rejected").doubleValue(), 1e-5);
            sentenceTerms(at, "chosen", ref.chosen(), rec);
            sentenceTerms(at, "rejected", ref.rejected(), rec);
            omegaC[b] = ref.chosen() == null ? null : ref.chosen().omega();
            omegaR[b] = ref.rejected() == null ? null : ref.rejected().omega();
            mean += ref.loss() / pairs.length;
        }
        close(spec + " loss", mean, got.get("loss").doubleValue(), 1e-5);
        close(spec + " metrics.loss", mean, got.at("/metrics/loss").doubleValue(), 1e-5);
        // gradients: central differences of the reference with the weights held fixed (they are detached)
        for (int b = 0; b < pairs.length; b++) {
            for (boolean chosen : new boolean[] {true, false}) {
                double[] policy = chosen ? pairs[b].chosen().policy() : pairs[b].rejected().policy();
                JsonNode grad = got.get("grad").get(b).get(chosen ? "policy_chosen" : "policy_rejected");
                assertEquals(policy.length, grad.size());
                double scale = 1e-9;
                double[] numeric = new double[policy.length];
                for (int t = 0; t < policy.length; t++) {
                    double saved = policy[t], h = 1e-5;
                    policy[t] = saved + h;
                    double plus = AspoReference.meanLossFixedWeights(cfg, pairs, omegaC, omegaR);
                    policy[t] = saved - h;
                    double minus = AspoReference.meanLossFixedWeights(cfg, pairs, omegaC, omegaR);
                    policy[t] = saved;
                    numeric[t] = (plus - minus) / (2 * h);
                    scale = Math.max(scale, Math.abs(numeric[t]));
                }
                for (int t = 0; t < policy.length; t++) {
                    double g = grad.get(t).doubleValue();
                    if (!(Math.abs(g - numeric[t]) <= 1e-4 * scale)) {
                        fail(spec + " grad[" + b + "]." + (chosen ? "policy_chosen" : "policy_rejected") + "[" + t + "] = " + g
                                + ", finite differences " + numeric[t]);
                    }
                }
            }
        }
    }

    private static void sentenceTerms(String at, String side, AspoReference.Weights ref, JsonNode rec) {
        if (ref == null) {
            assertTrue(rec.get("weights_" + side).isNull() && rec.get("omega_" + side).isNull(), at + " " + side + " unweighted");
            return;
        }
        closeAll(at + ".logratios_" + side, ref.l(), rec.get("logratios_" + side), 1e-6);
        closeAll(at + ".perplexities_" + side, ref.ppl(), rec.get("perplexities_" + side), 1e-5);
        closeAll(at + ".perplexity_scores_" + side, ref.pScore(), rec.get("perplexity_scores_" + side), 1e-5);
        closeAll(at + ".weights_" + side, ref.w(), rec.get("weights_" + side), 1e-5);
        closeAll(at + ".omega_" + side, ref.omega(), rec.get("omega_" + side), 1e-4);
        assertEquals(ref.fallback(), rec.get(side.equals("chosen") ? "fallback" : "fallback_rejected").booleanValue(), at + " fallback");
        if (ref.sScore() != null) closeAll(at + ".similarity_scores_" + side, ref.sScore(), rec.get("similarity_scores_" + side), 1e-9);
    }

    private static double[] doubles(JsonNode r, String field) {
        JsonNode a = r.get(field);
        if (a == null) return null;
        boolean logProbs = field.startsWith("policy_") || field.startsWith("ref_");   // read as float32 by the command
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = logProbs ? (float) a.get(i).doubleValue() : a.get(i).doubleValue();
        return v;
    }

    private static int[] ints(JsonNode r, String field) {
        JsonNode a = r.get(field);
        if (a == null) return null;
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).intValue();
        return v;
    }

    private static void close(String what, double expected, double actual, double tol) {
        if (!(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)))) fail(what + " = " + actual + ", expected " + expected);
    }

    private static void closeAll(String what, double[] expected, JsonNode actual, double tol) {
        assertEquals(expected.length, actual.size(), what + " length");
        for (int i = 0; i < expected.length; i++) close(what + "[" + i + "]", expected[i], actual.get(i).doubleValue(), tol);
    }

    /** Same structure; numbers within 1e-6 relative (the page prints them as the command does). */
    private static void assertSameTree(String where, JsonNode expected, JsonNode actual) {
        if (expected.isNumber()) {
            assertTrue(actual.isNumber(), where + " is a number");
            close(where, expected.doubleValue(), actual.doubleValue(), 1e-6);
        } else if (expected.isArray()) {
            assertEquals(expected.size(), actual.size(), where + " length");
            for (int i = 0; i < expected.size(); i++) assertSameTree(where + "[" + i + "]", expected.get(i), actual.get(i));
        } else if (expected.isObject()) {
            assertEquals(iterable(expected.fieldNames()), iterable(actual.fieldNames()), where + " fields");
            for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                assertSameTree(where + "." + e.getKey(), e.getValue(), actual.get(e.getKey()));
            }
        } else {
            assertEquals(expected, actual, where);
        }
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> list = new java.util.ArrayList<>();
        it.forEachRemaining(list::add);
        return list;
    }

    // ---- bad input ---------------------------------------------------------------------------------

    private void assertFails(String expected, Consumer<ObjectNode> mutation) throws IOException {
        ObjectNode spec = (ObjectNode) JSON.readTree(Files.readString(repoFile("docs/examples/aspo-loss.json")));
        mutation.accept(spec);
        Path file = dir.resolve("spec.json");
        Files.writeString(file, JSON.writeValueAsString(spec));
        assertFailsOn(file, expected);
    }

    private void assertFailsOn(Path file, String expected) {
        int code = run("loss", "--input", file.toString());
        String e = err.toString();
        assertEquals(1, code, e);
        assertEquals("", out.toString(), "nothing on stdout");
        assertTrue(e.startsWith("aspo loss: " + file + ": ") && e.endsWith("\n") && e.indexOf('\n') == e.length() - 1,
                "one line naming the file: " + e);
        assertTrue(e.contains(expected), "expected \"" + expected + "\" in: " + e);
    }

    private static ObjectNode record0(ObjectNode spec) {
        return (ObjectNode) spec.get("records").get(0);
    }

    @Test
    void badSpecsFailWithOneLineNamingTheField() throws IOException {
        assertFails("records[0].ref_chosen: 6 values, but policy_chosen has 7",
                s -> ((ArrayNode) record0(s).get("ref_chosen")).remove(0));
        assertFails("records[0].chosen_sentence_ids: sentence id 2 at token 2 after sentence 0",
                s -> record0(s).set("chosen_sentence_ids", JSON.valueToTree(new int[] {0, 0, 2, 2, 2, 3, 3})));
        assertFails("records[0].chosen_sentence_ids: sentence id 0 at token 5 after sentence 1",
                s -> record0(s).set("chosen_sentence_ids", JSON.valueToTree(new int[] {0, 0, 1, 1, 1, 0, 0})));
        assertFails("records[0].chosen_sentence_ids: 6 ids, but policy_chosen has 7 tokens",
                s -> ((ArrayNode) record0(s).get("chosen_sentence_ids")).remove(6));
        assertFails("records[0].chosen_sentence_ids: no token is in the response",
                s -> record0(s).set("chosen_sentence_ids", JSON.valueToTree(new int[] {-1, -1, -1, -1, -1, -1, -1})));
        assertFails("records[0].chosen_sentence_ids[1]: 0.5 is not an integer",
                s -> ((ArrayNode) record0(s).get("chosen_sentence_ids")).set(1, 0.5));
        assertFails("records[0].chosen_sentence_ids: missing", s -> record0(s).remove("chosen_sentence_ids"));
        assertFails("records[0].similarity_chosen: missing (loss_type aspo with alpha > 0 needs one value per sentence, 3 here)",
                s -> record0(s).remove("similarity_chosen"));
        assertFails("records[0].similarity_chosen: 2 values for 3 sentences",
                s -> ((ArrayNode) record0(s).get("similarity_chosen")).remove(2));
        assertFails("records[0].rejected_sentence_ids: missing", s -> s.put("rejected_weighting", "inverse"));
        assertFails("records[0].oracle_chosen: missing", s -> s.put("weights", "oracle"));
        assertFails("records[0].oracle_chosen[0]: 2.0 is not in [0, 1]", s -> {
            s.put("weights", "oracle");
            record0(s).set("oracle_chosen", JSON.valueToTree(new double[] {2, 0, 1}));
        });
        assertFails("records[0].policy_chosen[1]: \"x\" is not a finite number",
                s -> ((ArrayNode) record0(s).get("policy_chosen")).set(1, "x"));
        assertFails("records[0].policy_rejected: missing", s -> record0(s).remove("policy_rejected"));
        assertFails("records[0].policy_chosen_: unknown field", s -> record0(s).put("policy_chosen_", 1));
        assertFails("normalisation: unknown field", s -> s.put("normalisation", "mean"));
        assertFails("normalization: unknown value \"Mean\" (expected one of mean, reward-ratio, none)", s -> s.put("normalization", "Mean"));
        assertFails("loss_type: unknown value \"kto\" (expected one of dpo, aspo)", s -> s.put("loss_type", "kto"));
        assertFails("perplexity_source: 1 is not a string", s -> s.put("perplexity_source", 1));
        assertFails("loss_type: missing", s -> s.remove("loss_type"));
        assertFails("beta: must be positive, got -1.0", s -> s.put("beta", -1));
        assertFails("alpha: must be in [0, 1], got 2.0", s -> s.put("alpha", 2));
        assertFails("label_smoothing: applies to the sigmoid objective only", s -> {
            s.put("objective", "ipo");
            s.put("label_smoothing", 0.1);
        });
        assertFails("records: must be a non-empty array", s -> s.putArray("records"));

        Path file = dir.resolve("broken.json");
        Files.writeString(file, "{\"loss_type\": \"dpo\",\n \"records\": [1, 2,]}");
        assertFailsOn(file, "at line 2, column");
        Files.writeString(file, "{\"loss_type\": \"dpo\", \"loss_type\": \"aspo\"}");
        assertFailsOn(file, "not valid JSON");
        Files.writeString(file, "[]");
        assertFailsOn(file, "the spec must be a JSON object");
        assertFailsOn(dir.resolve("missing.json"), "no such file");
    }

    @Test
    void helpAndUsage() {
        assertEquals(0, run("loss", "--help"));
        assertTrue(out.toString().contains("--input=SPEC.json"), out.toString());
        assertEquals(2, run("loss"));
        assertTrue(err.toString().startsWith("aspo: Missing required option"), err.toString());
        assertEquals(0, run("--help"));
        assertTrue(out.toString().contains("loss"), "the main help lists the sub-command");
    }
}
