package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.method.train.StepListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a person following a study sees: in a log a line every 5% of a stage, each with the stage's and the study's ETA. */
class StudyProgressTest {
    @Test
    void aLogGetsALineEveryFivePercentWithBothEtas(@TempDir Path dir) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StudyProgress p = new StudyProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, StudyScale.SMALL, 2, dir);
        StepListener l = p.stage(1, "sft");
        for (long s = 1001; s <= 2000; s++) l.step(s, 2000);   // a resumed chunk: steps 1001..2000 of 2000
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(11, lines.size(), String.join("\n", lines));   // 50%, 55%, ..., 100%
        assertTrue(lines.get(0).startsWith("[small seed 1] sft 1001/2000 ETA ?"), lines.get(0));   // no rate from one step
        assertTrue(lines.get(lines.size() - 1).matches("\\[small seed 1] sft 2000/2000 ETA 0:00 \\| study ETA ~\\d+:\\d\\d(:\\d\\d)?"),
                lines.get(lines.size() - 1));
        // nothing of seed 2 has run: its stages count at the rough rates, so the study has time left after seed 1's sft
        assertTrue(p.remainingAfter(1, "sft") > p.remainingAfter(2, "sft"));
        p.stopAfter("sft");
        assertEquals(0, p.remainingAfter(2, "sft"), 0);
    }

    @Test
    void beforeAnyStageRanTheRoughRatesAddUpToTheSmallStudyAsMeasured(@TempDir Path dir) {
        // the README's small study took 15.2 and 19.9 minutes of stages on 2 quiet cores (docs/RESULTS.md;
        // its last SFT phase 7000 and 13000 steps of at most 24000, on two builds): the estimate of a
        // fresh one, from the rough rates alone (half the last phase), should be of that order, not
        // twice it (as it was before the rates were measured again)
        StudyProgress p = new StudyProgress(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false,
                StudyScale.SMALL, 1, dir);
        double minutes = p.remainingAfter(1, "world") / 60;
        assertTrue(minutes > 12 && minutes < 25, minutes + " min");
        p.stopAfter("sft");
        double toSft = p.remainingAfter(1, "world") / 60;
        assertTrue(toSft > 9 && toSft < minutes - 2, toSft + " min up to the SFT model, of " + minutes);
    }
}
