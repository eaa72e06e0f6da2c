package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.method.loss.LossConfig;
import dev.aspo.method.loss.LossMetrics;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.PreferenceLoss;
import dev.aspo.method.loss.PreferencePair;
import dev.aspo.method.loss.ResponseLogps;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DPO against TRL itself: {@code trl/dpo_losses.json} holds what TRL 1.13's
 * {@code DPOTrainer._compute_loss} computed on given per-token log-probs (made by
 * {@code method/src/test/python/make_trl_dpo_fixture.py}): the loss of the {@code sigmoid} and
 * {@code ipo} loss types, the gradient with respect to every policy log-prob, and the metrics TRL
 * logs. {@code aspo loss} and the trainers' metric computation ({@link LossMetrics}) must give the
 * same numbers, up to float32 summation order.
 */
class TrlDpoFixtureTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TRL_METRICS = List.of("rewards/chosen", "rewards/rejected", "rewards/margins",
            "rewards/accuracies", "logps/chosen", "logps/rejected");

    @TempDir
    Path dir;

    private static JsonNode fixture() throws IOException {
        try (InputStream in = TrlDpoFixtureTest.class.getResourceAsStream("/trl/dpo_losses.json")) {
            assertTrue(in != null, "trl/dpo_losses.json on the test class path");
            JsonNode doc = JSON.readTree(in);
            assertEquals(3, doc.get("cases").size(), "sigmoid at two betas and ipo");
            return doc;
        }
    }

    /** Float32 agreement: a relative error of a few ulps of the sums, or an absolute one near zero. */
    private static void close(String what, double expected, double actual) {
        double tol = 2e-6 + 2e-6 * Math.abs(expected);
        assertTrue(Math.abs(expected - actual) <= tol, what + ": TRL " + expected + ", here " + actual);
    }

    private static LossConfig config(JsonNode c) {
        LossConfig.Objective objective = switch (c.get("loss_type").asText()) {
            case "sigmoid" -> LossConfig.Objective.SIGMOID;
            case "ipo" -> LossConfig.Objective.IPO;
            default -> throw new AssertionError("unknown loss_type " + c.get("loss_type"));
        };
        return LossConfig.dpo().withObjective(objective).withBeta(c.get("beta").asDouble());
    }

    @Test
    void aspoLossGivesTrlsLossGradientAndMetrics() throws IOException {
        for (JsonNode c : fixture().get("cases")) {
            String name = c.get("name").asText();
            ObjectNode spec = JSON.createObjectNode();
            spec.put("loss_type", "dpo");
            spec.put("objective", c.get("loss_type").asText());
            spec.put("beta", c.get("beta").asDouble());
            spec.set("records", c.get("records"));
            Path file = dir.resolve(name + ".json");
            Files.writeString(file, JSON.writeValueAsString(spec));
            StringWriter out = new StringWriter(), err = new StringWriter();
            assertEquals(0, Main.run(new String[] {"loss", "--input", file.toString()}, new PrintWriter(out, true),
                    new PrintWriter(err, true)), err.toString());
            JsonNode got = JSON.readTree(out.toString());
            JsonNode expected = c.get("expected");

            close(name + " loss", expected.get("loss").asDouble(), got.get("loss").asDouble());
            for (String m : TRL_METRICS) {
                close(name + " " + m, expected.get("metrics").get(m).asDouble(), got.get("metrics").get(m).asDouble());
            }
            for (int b = 0; b < c.get("records").size(); b++) {
                for (String side : new String[] {"policy_chosen", "policy_rejected"}) {
                    JsonNode want = expected.get("grad").get(b).get(side), have = got.get("grad").get(b).get(side);
                    assertEquals(want.size(), have.size(), name + " record " + b + " " + side);
                    for (int t = 0; t < want.size(); t++) {
                        close(name + " record " + b + " d loss / d " + side + "[" + t + "]", want.get(t).asDouble(),
                                have.get(t).asDouble());
                    }
                }
            }
        }
    }

    @Test
    void theTrainersMetricsAreTrls() throws IOException {
        for (JsonNode c : fixture().get("cases")) {
            List<PreferencePair> pairs = new ArrayList<>();
            for (JsonNode r : c.get("records")) {
                pairs.add(new PreferencePair(ResponseLogps.whole(tensor(r.get("policy_chosen")), tensor(r.get("ref_chosen"))),
                        ResponseLogps.whole(tensor(r.get("policy_rejected")), tensor(r.get("ref_rejected")))));
            }
            LossResult result = PreferenceLoss.compute(config(c), pairs);
            Map<String, Double> metrics = LossMetrics.of(result);
            String name = c.get("name").asText();
            close(name + " loss", c.get("expected").get("loss").asDouble(), metrics.get("loss"));
            for (String m : TRL_METRICS) close(name + " " + m, c.get("expected").get("metrics").get(m).asDouble(), metrics.get(m));
        }
    }

    private static Tensor tensor(JsonNode values) {
        float[] f = new float[values.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) values.get(i).asDouble();
        return Tensor.of(f, f.length);
    }
}
