package dev.aspo.method.cli;

import dev.aspo.method.world.WorldWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code aspo world generate}: writes a shapes-world dataset (images + JSONL) with {@link WorldWriter}. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Write N shapes-world scenes: images/*.png, scenes.jsonl, sft.jsonl, captions.jsonl and pope.jsonl; "
                + "the same seed gives identical files.")
final class WorldCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--n", required = true, paramLabel = "N", description = "number of scenes (at least 1)")
    int n;

    @Option(names = "--seed", required = true, paramLabel = "S", description = "random seed")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory (created if missing)")
    Path out;

    @Option(names = "--size", defaultValue = "96", paramLabel = "PX",
            description = "image side in pixels, at least 24 (default: ${DEFAULT-VALUE}, the study's vision tower: 3x3 patches of 32)")
    int size;

    /** The world group: {@code aspo world generate ...}. */
    @Command(name = "world", mixinStandardHelpOptions = true, subcommands = {WorldCommand.class},
            description = "The synthetic shapes world: aspo world generate writes a dataset.")
    static final class Group extends CommandGroup {
    }

    @Override
    public Integer call() throws IOException {
        WorldWriter.write(out, n, seed, size);
        spec.commandLine().getOut().println("wrote " + n + " scenes (" + size + " px, seed " + seed + ") to " + out);
        return 0;
    }
}
