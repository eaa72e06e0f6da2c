package dev.aspo.method.cli;

import dev.aspo.method.train.ClipSimilarity;
import dev.aspo.method.train.ClipTrainer;
import dev.aspo.method.train.PolicyModel;
import dev.aspo.method.train.PolicyModels;
import dev.aspo.method.train.RunDirectory;
import dev.aspo.method.train.SimilaritySource;
import dev.aspo.method.train.TrainConfig;
import dev.aspo.method.train.Trainer;
import dev.aspo.models.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code aspo train clip|sft|dpo|aspo --config FILE [--key value ...] [--resume DIR]}: one training
 * run. Every config key (docs/TRAINING.md) can be given as a flag, which wins over the file.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train CLIP (contrastive), or a policy with SFT, DPO or ASPO.",
                "Settings come from --config (YAML or JSON) and --key value flags (which win); keys are listed in "
                        + "docs/TRAINING.md. Writes OUTPUT_DIR/metrics.jsonl and OUTPUT_DIR/checkpoint-<step>/."})
final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODE", description = "clip, sft, dpo or aspo")
    String mode;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML (.yaml/.yml) or JSON settings")
    Path config;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "continue the run in DIR from its latest checkpoint (settings: DIR/train_config.json unless --config)")
    Path resume;

    @Unmatched
    List<String> rest;

    @Override
    public Integer call() throws IOException {
        Map<String, String> flags = flags(rest == null ? List.of() : rest);
        if (resume != null) RunDirectory.requireRun(resume);
        Path file = config;
        if (file == null && resume != null && Files.isRegularFile(resume.resolve(Trainer.CONFIG))) file = resume.resolve(Trainer.CONFIG);
        if (resume != null && !flags.containsKey("output_dir") && (file == null || file.equals(resume.resolve(Trainer.CONFIG)))) {
            flags.put("output_dir", resume.toString());
        }
        TrainConfig cfg = TrainConfig.load(file, flags);
        DeviceOption.select(cfg.str("device"));   // before any model is made: parameters live on the device
        PrintStream console = System.out;
        if (mode.equals("clip")) {
            ClipTrainer.Result r = new ClipTrainer(cfg, console).run(resume);
            spec.commandLine().getOut().println("trained " + r.steps() + " steps; last checkpoint " + r.lastCheckpoint());
            return 0;
        }
        Trainer.Mode m = switch (mode) {
            case "sft" -> Trainer.Mode.SFT;
            case "dpo" -> Trainer.Mode.DPO;
            case "aspo" -> Trainer.Mode.ASPO;
            default -> throw new IllegalArgumentException("unknown mode \"" + mode + "\" (expected clip, sft, dpo or aspo)");
        };
        Path modelDir = cfg.requirePath("model");
        PolicyModel policy = PolicyModels.load(modelDir);
        Path tokFile = cfg.isSet("tokenizer") ? cfg.path("tokenizer") : modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) throw new IllegalArgumentException(tokFile + ": no tokenizer (set tokenizer)");
        Tokenizer tokenizer = Tokenizer.fromFile(tokFile);
        // a LoRA run's reference is the base model: the policy with its adapters off, no second copy
        PolicyModel reference = m == Trainer.Mode.SFT || Trainer.referenceIsBaseModel(cfg) ? null
                : PolicyModels.load(cfg.isSet("reference") ? cfg.path("reference") : modelDir);
        SimilaritySource sim = null;
        if (m == Trainer.Mode.ASPO && cfg.number("alpha") > 0 && cfg.isSet("clip_model")) {
            Path cacheDir = cfg.isSet("cache_dir") ? cfg.path("cache_dir") : cfg.requirePath("output_dir").resolve("cache");
            sim = ClipSimilarity.load(cfg.path("clip_model"), cacheDir);
        }
        Trainer.Result r = new Trainer(m, cfg, policy, reference, tokenizer, sim, console).run(resume);
        spec.commandLine().getOut().println("trained " + r.steps() + " steps; last checkpoint " + r.lastCheckpoint()
                + (r.skippedRecords() > 0 ? "; skipped " + r.skippedRecords() + " bad records" : ""));
        return 0;
    }

    /** {@code --key value} and {@code --key=value} pairs. */
    static Map<String, String> flags(List<String> args) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("unexpected argument \"" + a + "\" (settings are given as --key value)");
            }
            String key = a.substring(2), value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else {
                if (i + 1 >= args.size()) throw new IllegalArgumentException("--" + key + " needs a value");
                value = args.get(++i);
            }
            out.put(key.replace('-', '_'), value);
        }
        return out;
    }
}
