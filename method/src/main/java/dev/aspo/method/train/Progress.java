package dev.aspo.method.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a run: on a terminal one bar redrawn in place
 * ({@code [#####.....] 120/200 loss 0.6123 1534 tok/s ETA 0:42}); elsewhere (a log file, CI) a
 * plain line every {@code every} steps.
 */
public final class Progress {
    enum Style { BAR, LINES, NONE }

    private final PrintStream out;
    private final Style style;
    private final int every;
    private final long total;
    private final long startNanos = System.nanoTime();
    private final long firstStep;

    Progress(PrintStream out, Style style, int every, long firstStep, long total) {
        this.out = out;
        this.style = style;
        this.every = every;
        this.firstStep = firstStep;
        this.total = total;
    }

    static Style style(String key) {
        return switch (key) {
            case "bar" -> Style.BAR;
            case "lines" -> Style.LINES;
            case "none" -> Style.NONE;
            default -> System.console() != null ? Style.BAR : Style.LINES;
        };
    }

    void step(long step, double loss, double tokensPerS) {
        if (style == Style.NONE) return;
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long done = step - firstStep;
        double eta = done > 0 ? elapsed / done * (total - step) : 0;
        if (style == Style.BAR) {
            int width = 30, fill = (int) (width * step / Math.max(1, total));
            String bar = "#".repeat(fill) + ".".repeat(width - fill);
            out.printf(Locale.ROOT, "\r[%s] %d/%d loss %.4f %.0f tok/s ETA %s ", bar, step, total, loss, tokensPerS, time(eta));
            if (step == total) out.println();
            out.flush();
        } else if (step % every == 0 || step == total) {
            out.printf(Locale.ROOT, "step %d/%d loss %.4f %.0f tok/s elapsed %s ETA %s%n", step, total, loss, tokensPerS,
                    time(elapsed), time(eta));
        }
    }

    void message(String line) {
        if (style == Style.BAR) out.print("\r");
        out.println(line);
    }

    /** "m:ss", or "h:mm:ss" from an hour on. */
    public static String time(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
