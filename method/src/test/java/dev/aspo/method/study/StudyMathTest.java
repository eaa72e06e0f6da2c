package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.models.image.RgbImage;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The study's small pieces of arithmetic: DDPM noise, AUROC, F1, mean and std. */
class StudyMathTest {
    @Test
    void alphaBarMatchesDdpmsSchedule() {
        // torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=float64), 0)[[0, 499, 999]]
        assertEquals(0.9999, DdpmNoise.alphaBar(1), 1e-15);
        assertEquals(0.07858724288177824, DdpmNoise.alphaBar(500), 1e-13);
        assertEquals(4.0358297653756754e-05, DdpmNoise.alphaBar(1000), 1e-16);
        assertThrows(IllegalArgumentException.class, () -> DdpmNoise.alphaBar(0));
        assertThrows(IllegalArgumentException.class, () -> DdpmNoise.alphaBar(1001));
    }

    @Test
    void noiseAtStep500KeepsAFractionOfTheSignal() {
        int n = 64 * 64;
        byte[] white = new byte[n * 3], black = new byte[n * 3];
        java.util.Arrays.fill(white, (byte) 255);
        RgbImage w = DdpmNoise.noise(new RgbImage(64, 64, white, "w"), 500, new Random(1));
        RgbImage b = DdpmNoise.noise(new RgbImage(64, 64, black, "b"), 500, new Random(1));
        // the same noise on both, so wherever neither output clamps, white - black = 2 sqrt(abar) in [-1, 1]
        // units (127.5 * 2 sqrt(abar) levels), up to the rounding of each byte
        double expected = 2 * Math.sqrt(DdpmNoise.alphaBar(500)) * 127.5;
        int inside = 0;
        for (int i = 0; i < n * 3; i++) {
            int a = w.rgb()[i] & 0xff, c = b.rgb()[i] & 0xff;
            if (a == 0 || a == 255 || c == 0 || c == 255) continue;
            inside++;
            assertEquals(expected, a - c, 1.0, "pixel " + i);
        }
        assertTrue(inside > n / 2, inside + " unclamped of " + n * 3);
        // the same seed gives the same image
        assertEquals(java.util.Arrays.hashCode(w.rgb()),
                java.util.Arrays.hashCode(DdpmNoise.noise(new RgbImage(64, 64, white, "w"), 500, new Random(1)).rgb()));
    }

    @Test
    void aurocCountsPairsAndTies() {
        assertEquals(1.0, Auroc.of(new double[] {0.1, 0.2, 0.8, 0.9}, new boolean[] {false, false, true, true}), 1e-12);
        assertEquals(0.0, Auroc.of(new double[] {0.9, 0.8, 0.2, 0.1}, new boolean[] {false, false, true, true}), 1e-12);
        assertEquals(0.5, Auroc.of(new double[] {0.5, 0.5, 0.5, 0.5}, new boolean[] {false, true, false, true}), 1e-12);
        // positives {0.3, 0.7}, negatives {0.3, 0.5}: pairs (0.3,0.3) tie 1/2, (0.3,0.5) 0, (0.7,*) 1 + 1 -> 2.5 / 4
        assertEquals(0.625, Auroc.of(new double[] {0.3, 0.7, 0.3, 0.5}, new boolean[] {true, true, false, false}), 1e-12);
        assertTrue(Double.isNaN(Auroc.of(new double[] {1, 2}, new boolean[] {true, true})));
        // against the definition on random data
        Random r = new Random(3);
        for (int trial = 0; trial < 20; trial++) {
            int n = 2 + r.nextInt(30);
            double[] s = new double[n];
            boolean[] p = new boolean[n];
            for (int i = 0; i < n; i++) {
                s[i] = r.nextInt(5);
                p[i] = r.nextBoolean();
            }
            double num = 0, den = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (p[i] && !p[j]) {
                        den++;
                        num += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    }
                }
            }
            double a = Auroc.of(s, p);
            if (den == 0) assertTrue(Double.isNaN(a));
            else assertEquals(num / den, a, 1e-12);
        }
    }

    @Test
    void f1OfYesCountsUnreadableAnswersAsNo() {
        boolean[] truth = {true, true, false, false, true};
        Boolean[] said = {true, null, true, false, false};
        // tp 1, fp 1, fn 2 -> 2 / (2 + 1 + 2)
        assertEquals(0.4, Evaluation.f1(truth, said), 1e-12);
        assertEquals(0.0, Evaluation.f1(new boolean[] {false}, new Boolean[] {false}), 0);
    }

    @Test
    void meanAndSampleStd() {
        assertEquals(2.0, StudyReport.mean(List.of(1.0, 2.0, 3.0)), 0);
        assertEquals(1.0, StudyReport.std(List.of(1.0, 2.0, 3.0)), 1e-12);
        assertEquals(0.0, StudyReport.std(List.of(5.0)), 0);
    }

    @Test
    void aSettingChangesByItsSnakeCaseNameAndNothingElse() {
        StudyScale s = StudyScale.SMALL.with("sft_steps", "6000").with("clip_lr", "5e-4");
        assertEquals(6000, s.sftSteps());
        assertEquals(5e-4, s.clipLr(), 0);
        assertEquals("small", s.name());
        assertEquals(StudyScale.SMALL.with("sft_steps", "6000").with("clip_lr", "5e-4"), s);
        Map<String, Object> before = StudyScale.SMALL.settings(), after = s.settings();
        int changed = 0;
        for (String k : before.keySet()) if (!before.get(k).equals(after.get(k))) changed++;
        assertEquals(2, changed, after.toString());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> StudyScale.SMALL.with("sft_stepz", "1"));
        assertTrue(unknown.getMessage().contains("sft_stepz") && unknown.getMessage().contains("sft_steps"), unknown.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> StudyScale.SMALL.with("sft_steps", "many"));
        assertTrue(bad.getMessage().contains("integer"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> StudyScale.SMALL.with("name", "x"));
    }

    @Test
    void scalesByName() {
        assertEquals(StudyScale.SMOKE, StudyScale.of("smoke"));
        assertEquals(StudyScale.FULL, StudyScale.of("FULL"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StudyScale.of("huge"));
        assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("smoke"), e.getMessage());
    }
}
