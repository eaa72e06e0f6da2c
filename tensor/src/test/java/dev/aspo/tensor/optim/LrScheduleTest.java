package dev.aspo.tensor.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LrScheduleTest {
    private static final double EPS = 1e-15;

    @Test
    void cosineWithWarmupAtItsLandmarks() {
        // peak 1e-3, 10 warm-up steps, 110 in all: the cosine spans steps 10..110
        LrSchedule s = LrSchedule.cosineWithWarmup(1e-3, 10, 110);
        assertEquals(0.0, s.lr(0), EPS, "warm-up starts at 0 (Hugging Face's first step has lr 0)");
        assertEquals(1e-4, s.lr(1), EPS);
        assertEquals(5e-4, s.lr(5), EPS);
        assertEquals(1e-3, s.lr(10), EPS, "end of warm-up: the peak");
        assertEquals(0.8535533905932737e-3, s.lr(35), EPS, "a quarter in: (1 + cos(pi/4)) / 2");
        assertEquals(5e-4, s.lr(60), EPS, "middle: half the peak");
        assertEquals(0.0, s.lr(110), EPS, "end");
        assertEquals(0.0, s.lr(1000), EPS, "past the end it stays at the minimum");
    }

    @Test
    void minimumRatioLiftsTheFloor() {
        LrSchedule s = LrSchedule.cosineWithWarmup(2e-3, 4, 24, 0.1);
        assertEquals(1e-3, s.lr(2), EPS, "warm-up is not affected");
        assertEquals(2e-3, s.lr(4), EPS);
        assertEquals(2e-3 * (0.1 + 0.9 * 0.5), s.lr(14), EPS, "middle: 1.1e-3");
        assertEquals(2e-4, s.lr(24), EPS, "end: 0.1 of the peak");
        assertEquals(2e-4, s.lr(99), EPS);
    }

    @Test
    void noWarmupStartsAtThePeakAndDecreases() {
        LrSchedule s = LrSchedule.cosineWithWarmup(1.0, 0, 4);
        assertEquals(1.0, s.lr(0), EPS);
        assertEquals(0.5 * (1 + Math.cos(Math.PI / 4)), s.lr(1), EPS);
        assertEquals(0.5, s.lr(2), EPS);
        double prev = Double.MAX_VALUE;
        for (int i = 0; i <= 4; i++) {
            assertTrue(s.lr(i) < prev);
            prev = s.lr(i);
        }
    }

    @Test
    void warmupAsLongAsTheRunNeverDivides() {
        LrSchedule s = LrSchedule.cosineWithWarmup(1.0, 5, 5);
        assertEquals(0.8, s.lr(4), EPS);
        assertEquals(1.0, s.lr(5), EPS, "progress uses max(1, total - warmup)");
    }

    @Test
    void constantAndBadArguments() {
        assertEquals(3e-4, LrSchedule.constant(3e-4).lr(12345), 0);
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosineWithWarmup(1e-3, 10, 5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosineWithWarmup(1e-3, -1, 5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosineWithWarmup(1e-3, 1, 5, 1.5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosineWithWarmup(-1e-3, 1, 5));
        var e = assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosineWithWarmup(1e-3, 1, 5).lr(-1));
        assertTrue(e.getMessage().contains("-1"), e.getMessage());
    }
}
