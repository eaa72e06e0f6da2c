package dev.aspo.method.study;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aspo.method.train.Progress;
import dev.aspo.method.train.StepListener;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a study is and how long it has left. On a terminal one line redrawn in place
 * ({@code [small seed 1] sft 2300/4000 ETA 3:10 | study ETA ~14:20}); in a log a line every 5% of
 * a stage's steps. A stage's ETA comes from its own step rate; the study's from the time each
 * remaining stage took in an earlier seed (its marker), or before that from a rough rate per step
 * of this 2-core machine (hence the {@code ~}).
 */
final class StudyProgress {
    /**
     * Rough seconds per step, per evaluated scene or probe, per sampled description and per pair
     * answer on 2 cores, for stages not yet measured: the README's small study with 2 threads,
     * nothing else running (2026-12-07, the CPU backend's own thread pool: CLIP 6000 steps in 169 s,
     * SFT 15500 in 496 s with its checks, a preference run of 150 steps 7.6 s, an evaluation of 200
     * scenes and 720 probes 1.9 s, 800 sampled descriptions 2.9 s, 1600 pair answers 14 s, the
     * recipe's 8 candidates 74 s).
     */
    private static final double CLIP_STEP = 0.028, SFT_STEP = 0.032, PREF_STEP = 0.05, EVAL_SCENE = 0.002, SAMPLED = 0.0037,
            PAIR_ANSWER = 0.009, VAL_SCENE = 0.017;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PrintStream out;
    private final boolean terminal;
    private final StudyScale scale;
    private final int seeds;
    private final Path studyDir;
    private final Map<String, Double> measured = new HashMap<>();   // stage -> seconds, from any seed's marker

    StudyProgress(PrintStream out, boolean terminal, StudyScale scale, int seeds, Path studyDir) {
        this.out = out;
        this.terminal = terminal;
        this.scale = scale;
        this.seeds = seeds;
        this.studyDir = studyDir;
    }

    private String until;

    /** Counts no stage after {@code stage} (null: all) in the study's ETA. */
    void stopAfter(String stage) {
        this.until = stage;
    }

    /** Reads the stage markers of every seed (call after a stage ends). */
    void refresh() {
        for (int s = 1; s <= seeds; s++) {
            Path dir = Reproduction.seedDir(studyDir, s).resolve(".stages");
            for (String st : Reproduction.stages()) {
                Path m = dir.resolve(st + ".json");
                if (measured.containsKey(st) || !Files.isRegularFile(m)) continue;
                try {
                    measured.put(st, JSON.readTree(m.toFile()).get("seconds").asDouble());
                } catch (IOException | RuntimeException e) {
                    // an unreadable marker only costs the estimate
                }
            }
        }
    }

    /** Seconds the stages after {@code stage} of seed {@code seed}, and every later seed, should take. */
    double remainingAfter(int seed, String stage) {
        List<String> all = Reproduction.stages();
        double t = 0;
        for (int s = seed; s <= seeds; s++) {
            int end = until == null ? all.size() : all.indexOf(until) + 1;
            for (int i = s == seed ? all.indexOf(stage) + 1 : 0; i < end; i++) {
                String st = all.get(i);
                if (Files.isRegularFile(Reproduction.seedDir(studyDir, s).resolve(".stages").resolve(st + ".json"))) continue;
                t += measured.getOrDefault(st, guess(st));
            }
        }
        return t;
    }

    private double guess(String stage) {
        if (stage.equals("clip")) return scale.clipSteps() * CLIP_STEP;
        if (stage.equals("sft")) {   // the curriculum: the lookup phase stops, on seed 1, after 8000-12000 of its at most 16000 steps
            if (scale.sftColourSteps() > 0) return (scale.sftMinSteps() + scale.sftColourSteps() / 4.0 + scale.sftLookupSteps() / 2.0) * SFT_STEP;
            return (scale.sftTargetError() > 0 ? scale.sftMinSteps() : scale.sftSteps()) * SFT_STEP;
        }
        if (stage.startsWith("train-")) return scale.prefSteps() * PREF_STEP;
        if (stage.startsWith("eval-")) return (scale.evalScenes() + 6 * scale.popeScenes()) * EVAL_SCENE;
        if (stage.startsWith("sample-")) return scale.evalScenes() * scale.evalSamples() * SAMPLED;
        if (stage.equals("pairs")) return (scale.pairScenes() + scale.evalScenes()) * 2 * PAIR_ANSWER;
        if (stage.equals("recipe")) {   // each candidate recipe: a preference run, then the validation scenes described
            return PreferenceRuns.recipeCandidates(scale).size() * (scale.prefSteps() * PREF_STEP + scale.valScenes() * VAL_SCENE);
        }
        return 1;
    }

    /** A listener for the steps of {@code stage} of {@code seed}: the redrawn line or a line every 5%. */
    StepListener stage(int seed, String stage) {
        double after = remainingAfter(seed, stage);
        long[] lastPercent = {-1}, first = {-1, 0};   // the first step seen and its time: a resumed run's rate counts from there
        return (step, total) -> {
            long now = System.nanoTime();
            if (first[0] < 0) {
                first[0] = step;
                first[1] = now;
            }
            String eta = "?", study = "?";
            if (step > first[0]) {
                double left = (now - first[1]) / 1e9 / (step - first[0]) * (total - step);
                eta = Progress.time(left);
                study = "~" + Progress.time(left + after);
            }
            String line = String.format(Locale.ROOT, "[%s seed %d] %s %d/%d ETA %s | study ETA %s", scale.name(), seed, stage, step, total,
                    eta, study);
            if (terminal) {
                out.print("\r" + line + "   ");
                if (step == total) out.println();
                out.flush();
            } else {
                long percent = 100 * step / Math.max(1, total);
                if (percent / 5 != lastPercent[0] / 5 || step == total) {
                    lastPercent[0] = percent;
                    out.println(line);
                }
            }
        };
    }
}
