package dev.aspo.method.cli;

import dev.aspo.tensor.io.IoErrors;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code aspo} command line. Sub-commands arrive with the issues that build what they run;
 * each prints one clear line and exits non-zero on bad input.
 */
@Command(name = "aspo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        subcommands = {TokenizeCommand.class, LossCommand.class, ForwardCommand.class, GradCommand.class,
                ConvertCommand.class, MergeCommand.class, GenerateCommand.class, TrainCommand.class, EvalCommand.class, ReproduceCommand.class,
                BenchStepCommand.Group.class, WorldCommand.Group.class},
        description = "Train compact vision-language models in pure Java and align them with ASPO "
                + "(sentence-level preference optimisation, arXiv 2505.19100).")
public final class Main extends CommandGroup {

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("aspo: " + ex.getMessage() + " (see aspo --help)");
            return 2;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            err.println("aspo " + cmd.getCommandName() + ": " + IoErrors.describe(ex));
            return 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // what input sizes allow is checked before allocating; this is the last line of defence
            err.println("aspo: out of memory (" + e.getMessage() + "); the input is larger than the heap: give the JVM more with"
                    + " ASPO_JAVA_OPTS=-Xmx<size>, or use a smaller model, batch or image");
            return 1;
        }
    }

    /** The version Maven wrote into the jar, plus the runtime it runs on. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) p.load(in);
            }
            return new String[] {"aspo " + p.getProperty("version", "unknown"),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
