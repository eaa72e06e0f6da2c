package dev.aspo.method.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
    @Test
    void plainLinesEveryNStepsAndAtTheEnd() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(buf, true, StandardCharsets.UTF_8), Progress.Style.LINES, 2, 0, 5);
        for (int s = 1; s <= 5; s++) p.step(s, 0.5, 1234.4);
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(3, lines.length);   // steps 2, 4 and 5
        assertTrue(lines[0].matches("step 2/5 loss 0\\.5000 1234 tok/s elapsed \\d+:\\d\\d ETA \\d+:\\d\\d"), lines[0]);
        assertTrue(lines[2].startsWith("step 5/5 "), lines[2]);
    }

    @Test
    void aBarRedrawnInPlace() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Progress p = new Progress(new PrintStream(buf, true, StandardCharsets.UTF_8), Progress.Style.BAR, 1, 10, 20);
        p.step(15, 0.25, 99);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\r[" + "#".repeat(22) + ".".repeat(8) + "] 15/20 loss 0.2500 99 tok/s ETA "), s);
        assertEquals("1:05:00", Progress.time(3900));
        assertEquals("0:42", Progress.time(42));
    }
}
