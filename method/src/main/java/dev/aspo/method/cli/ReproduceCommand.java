package dev.aspo.method.cli;

import dev.aspo.method.study.Reproduction;
import dev.aspo.method.study.StudyScale;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code aspo reproduce}: the shapes-world study, DPO against ASPO and its ablations ({@link Reproduction}). */
@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = "Run the shapes-world study end to end (world, CLIP, SFT, SeVa pairs, the recipe chosen on validation "
                + "scenes, DPO, ASPO, its ablations and controls, evaluation, paired statistics) and write results.json, "
                + "results.md and plots/ in --out. Finished stages are kept: running it again continues an interrupted study.")
final class ReproduceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--scale", defaultValue = "small", paramLabel = "S",
            description = "smoke (CI's), small (one seed) or full (5 seeds by default) (default: ${DEFAULT-VALUE})")
    String scale;

    @Option(names = "--seeds", paramLabel = "N", description = "seeds 1..N, each a whole study (default: 5 for full, else 1)")
    Integer seeds;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the study's folder (created; finished stages in it are reused)")
    Path out;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "change one setting of the scale, e.g. --set sft_steps=6000 "
            + "(repeatable; the study's folder records them and refuses other settings)")
    java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();

    @Option(names = "--until", paramLabel = "STAGE", description = "run each seed up to this stage (world, tokenizer, clip, sft, "
            + "pairs, train-M, eval-M) and stop without the report, e.g. to choose settings on validation scenes")
    String until;

    @Option(names = "--only-seed", paramLabel = "S", description = "run only seed S of 1..N and write no report: for seeds side by side in "
            + "separate processes on the same --out (a last run without it writes the report)")
    Integer onlySeed;

    @Mixin
    DeviceOption device;

    @Override
    public Integer call() throws IOException {
        StudyScale s = StudyScale.of(scale);
        for (var e : settings.entrySet()) s = s.with(e.getKey(), e.getValue());
        device.select();
        Reproduction study = new Reproduction(s, seeds != null ? seeds : s.name().equals("full") ? 5 : 1, out, System.out).until(until);
        if (onlySeed != null) study.onlySeed(onlySeed);
        Path results = study.run();
        if (results == null) {
            spec.commandLine().getOut().println(onlySeed != null ? "seed " + onlySeed + " done" + (until != null ? " up to stage " + until : "")
                    + " in " + out + "; run without --only-seed for the report" : "stopped after stage " + until + " in " + out);
            spec.commandLine().getOut().flush();
            return 0;
        }
        spec.commandLine().getOut().println("wrote " + results + ", " + out.resolve("results.md") + " and " + out.resolve("plots"));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
