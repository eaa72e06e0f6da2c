package dev.aspo.method.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import dev.aspo.method.loss.LossMetrics;
import dev.aspo.method.loss.LossResult;
import dev.aspo.method.loss.PreferenceLoss;
import dev.aspo.method.loss.PreferencePair;
import dev.aspo.method.loss.ResponseLogps;
import dev.aspo.method.loss.ResponseWeights;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code aspo loss --input SPEC.json}: the DPO/ASPO loss, the sentence weights and the gradient
 * with respect to every per-token policy log-prob, as one JSON object on stdout. For checking the
 * maths by hand and against other frameworks (docs/ASPO-LOSS.md has a worked example).
 */
@Command(name = "loss", mixinStandardHelpOptions = true,
        description = {"DPO/ASPO loss, sentence weights and gradients from given per-token log-probs.",
                "Prints one JSON object: loss (mean over records), records (loss, rewards, weights, omega, fallback, "
                        + "sentence terms) and grad (d loss / d policy log-prob per token). See docs/ASPO-LOSS.md."})
final class LossCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "SPEC.json", description = "the options and records (format in docs/ASPO-LOSS.md)")
    Path input;

    @Option(names = "--compact", description = "print the JSON on one line")
    boolean compact;

    @Override
    public Integer call() throws IOException {
        LossSpec lossSpec = LossSpec.read(input);
        List<PreferencePair> pairs = new ArrayList<>();
        List<Tensor[]> leaves = new ArrayList<>();
        for (LossSpec.Record r : lossSpec.records()) {
            Tensor pc = tensor(r.policyChosen()).requiresGrad(true), pr = tensor(r.policyRejected()).requiresGrad(true);
            leaves.add(new Tensor[] {pc, pr});
            pairs.add(new PreferencePair(
                    new ResponseLogps(pc, tensor(r.refChosen()), r.chosenIds(), r.similarityChosen(), r.oracleChosen()),
                    new ResponseLogps(pr, tensor(r.refRejected()), r.rejectedIds(), r.similarityRejected(), r.oracleRejected())));
        }
        LossResult result = PreferenceLoss.compute(lossSpec.config(), pairs);
        result.loss().backward();

        StringWriter text = new StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(text)) {
            if (!compact) {
                g.setPrettyPrinter(new DefaultPrettyPrinter(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER)));
            }
            g.writeStartObject();
            g.writeNumberField("loss", result.value());
            g.writeArrayFieldStart("records");
            for (LossResult.PairResult p : result.pairs()) writeRecord(g, p);
            g.writeEndArray();
            g.writeArrayFieldStart("grad");
            for (Tensor[] leaf : leaves) {
                g.writeStartObject();
                writeFloats(g, "policy_chosen", grad(leaf[0]));
                writeFloats(g, "policy_rejected", grad(leaf[1]));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectFieldStart("metrics");
            // single precision: the summaries of float rewards and losses, without their double-rounding noise
            for (Map.Entry<String, Double> m : LossMetrics.of(result).entrySet()) {
                g.writeNumberField(m.getKey(), m.getValue().floatValue());
            }
            g.writeEndObject();
            g.writeEndObject();
        }
        spec.commandLine().getOut().println(text);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static void writeRecord(JsonGenerator g, LossResult.PairResult p) throws IOException {
        g.writeStartObject();
        g.writeNumberField("loss", p.loss());
        g.writeNumberField("reward_chosen", p.rewardChosen());
        g.writeNumberField("reward_rejected", p.rewardRejected());
        ResponseWeights c = p.chosen(), r = p.rejected();
        writeDoubles(g, "weights_chosen", c == null ? null : c.weights());
        writeDoubles(g, "omega_chosen", c == null ? null : c.omega());
        g.writeBooleanField("fallback", c != null && c.fallback());
        writeSentenceTerms(g, "chosen", c);
        writeDoubles(g, "weights_rejected", r == null ? null : r.weights());
        writeDoubles(g, "omega_rejected", r == null ? null : r.omega());
        g.writeBooleanField("fallback_rejected", r != null && r.fallback());
        writeSentenceTerms(g, "rejected", r);
        g.writeEndObject();
    }

    private static void writeSentenceTerms(JsonGenerator g, String side, ResponseWeights w) throws IOException {
        writeDoubles(g, "logratios_" + side, w == null ? null : w.logRatios());
        writeDoubles(g, "perplexities_" + side, w == null ? null : w.perplexities());
        writeDoubles(g, "perplexity_scores_" + side, w == null ? null : w.perplexityScores());
        writeDoubles(g, "similarity_scores_" + side, w == null ? null : w.similarityScores());
    }

    private static void writeDoubles(JsonGenerator g, String name, double[] v) throws IOException {
        if (v == null) {
            g.writeNullField(name);
            return;
        }
        g.writeArrayFieldStart(name);
        for (double x : v) g.writeNumber(x);
        g.writeEndArray();
    }

    private static void writeFloats(JsonGenerator g, String name, float[] v) throws IOException {
        g.writeArrayFieldStart(name);
        for (float x : v) g.writeNumber(x);
        g.writeEndArray();
    }

    private static float[] grad(Tensor leaf) {
        Tensor g = leaf.grad();
        return g == null ? new float[leaf.numel()] : g.toFloatArray();
    }

    private static Tensor tensor(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.of(f, f.length);
    }
}
