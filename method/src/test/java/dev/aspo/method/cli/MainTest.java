package dev.aspo.method.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class MainTest {
    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void helpListsTheProgramAndExitsZero() {
        assertEquals(0, run("--help"));
        assertTrue(out.toString().contains("Usage: aspo"), out.toString());
    }

    @Test
    void versionNamesTheBuiltVersion() {
        assertEquals(0, run("--version"));
        assertTrue(out.toString().startsWith("aspo 0."), out.toString());
    }

    @Test
    void unknownOptionIsOneLineAndExitCodeTwo() {
        assertEquals(2, run("--no-such-flag"));
        String e = err.toString().trim();
        assertTrue(e.startsWith("aspo: ") && e.contains("--no-such-flag") && !e.contains("\n"), e);
    }
}
