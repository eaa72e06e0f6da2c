package dev.aspo.method.study;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * PNG charts of the reproduction study: a line chart of per-step curves and a grouped bar chart of
 * final metrics with error bars. Pure Java2D on a {@link BufferedImage}, so it runs headless and sets
 * no global AWT state. Every input is checked before anything is drawn, and the image is written to
 * a temporary file in the target folder and then renamed over the target, so a failure never leaves
 * a half-written PNG behind.
 */
public final class Charts {

    /** Image size in pixels. */
    static final int WIDTH = 900;
    static final int HEIGHT = 500;
    /** The plot area (pixels); the right margin holds the legend. */
    static final int PLOT_LEFT = 80;
    static final int PLOT_TOP = 50;
    static final int PLOT_RIGHT = 690;
    static final int PLOT_BOTTOM = 430;

    /** Fraction of a group's width that its bars fill; the rest separates the groups. */
    private static final double GROUP_FILL = 0.8;
    private static final Color AXIS = new Color(0x33, 0x33, 0x33);
    private static final Color GRID = new Color(0xE6, 0xE6, 0xE6);
    /** Colour-blind-friendly, well separated colours (Tableau 10); more series get generated hues. */
    private static final Color[] PALETTE = {
            new Color(0x1F77B4), new Color(0xFF7F0E), new Color(0x2CA02C), new Color(0xD62728),
            new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x7F7F7F),
            new Color(0xBCBD22), new Color(0x17BECF)};

    private Charts() {
    }

    /**
     * One line chart: x = step, one polyline per series (a distinct colour each, legend), axes with
     * about 5 tick labels, title and axis labels. Series may have different lengths; a point whose x or
     * y is NaN is skipped (its neighbours are joined).
     *
     * @param series series name -> {@code {xs, ys}} of equal length
     * @throws IllegalArgumentException on no series, a malformed or empty series, an infinite value or
     *                                  a series without any finite point
     */
    public static void lines(Path png, String title, String xLabel, String yLabel, LinkedHashMap<String, double[][]> series) {
        requireText(png, title, xLabel, yLabel);
        PlotArea area = linesArea(series); // validates the series
        BufferedImage image = canvas();
        Graphics2D g = image.createGraphics();
        try {
            decorate(g, title, xLabel, yLabel);
            drawYTicks(g, area);
            drawXTicks(g, area);
            drawAxes(g);
            g.setClip(new Rectangle2D.Double(PLOT_LEFT - 3, PLOT_TOP - 3, PLOT_RIGHT - PLOT_LEFT + 6, PLOT_BOTTOM - PLOT_TOP + 6));
            g.setStroke(new BasicStroke(3f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            int i = 0;
            for (double[][] s : series.values()) {
                g.setColor(seriesColour(i++));
                Path2D.Double path = new Path2D.Double();
                boolean started = false;
                int finite = 0;
                for (int k = 0; k < s[0].length; k++) {
                    if (Double.isNaN(s[0][k]) || Double.isNaN(s[1][k])) continue;
                    double px = area.px(s[0][k]), py = area.py(s[1][k]);
                    if (started) path.lineTo(px, py);
                    else path.moveTo(px, py);
                    started = true;
                    finite++;
                }
                g.draw(path);
                if (finite == 1) { // a lone point draws no segment: mark it
                    double px = path.getCurrentPoint().getX(), py = path.getCurrentPoint().getY();
                    g.fill(new Ellipse2D.Double(px - 4, py - 4, 8, 8));
                }
            }
            g.setClip(null);
            drawLegend(g, new ArrayList<>(series.keySet()));
        } finally {
            g.dispose();
        }
        write(image, png);
    }

    /**
     * Grouped bar chart with error bars: one group per metric, one bar per method within a group
     * (a colour per method, legend), bar height = mean, error bar = +-std. The y axis runs from 0 (or
     * the lowest {@code mean - std} if some mean is negative) to {@code max(1, max(mean + std))}.
     *
     * @param mean {@code [metric][method]}, finite
     * @param std  {@code [metric][method]}, finite and {@code >= 0}
     * @throws IllegalArgumentException on empty or mismatched lists and arrays, or a bad value
     */
    public static void bars(Path png, String title, List<String> metrics, List<String> methods, double[][] mean, double[][] std) {
        requireText(png, title, "", "");
        PlotArea area = barsArea(metrics, methods, mean, std); // validates everything
        BufferedImage image = canvas();
        Graphics2D g = image.createGraphics();
        try {
            decorate(g, title, "", "");
            drawYTicks(g, area);
            double barWidth = barWidth(methods.size());
            g.setClip(new Rectangle2D.Double(PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP));
            for (int m = 0; m < metrics.size(); m++) {
                for (int j = 0; j < methods.size(); j++) {
                    double left = area.px(barCenter(m, j, methods.size()) - barWidth / 2);
                    double right = area.px(barCenter(m, j, methods.size()) + barWidth / 2);
                    double top = area.py(Math.max(mean[m][j], 0)), bottom = area.py(Math.min(mean[m][j], 0));
                    g.setColor(seriesColour(j));
                    g.fill(new Rectangle2D.Double(left, top, right - left, bottom - top));
                }
            }
            // error bars over all bars, so a neighbour's bar never hides one
            g.setColor(AXIS);
            g.setStroke(new BasicStroke(1.5f));
            for (int m = 0; m < metrics.size(); m++) {
                for (int j = 0; j < methods.size(); j++) {
                    if (std[m][j] == 0) continue;
                    double cx = area.px(barCenter(m, j, methods.size()));
                    double half = (area.px(barWidth) - area.px(0)) * 0.2;
                    double hi = area.py(mean[m][j] + std[m][j]), lo = area.py(mean[m][j] - std[m][j]);
                    g.draw(new Line2D.Double(cx, hi, cx, lo));
                    g.draw(new Line2D.Double(cx - half, hi, cx + half, hi));
                    g.draw(new Line2D.Double(cx - half, lo, cx + half, lo));
                }
            }
            g.setClip(null);
            drawAxes(g);
            g.setColor(AXIS);
            g.setFont(new Font("SansSerif", Font.PLAIN, 13));
            for (int m = 0; m < metrics.size(); m++) {
                double cx = area.px(m + 0.5);
                String label = fit(g, metrics.get(m), area.px(1) - area.px(0) - 4);
                drawCentred(g, label, cx, PLOT_BOTTOM + 20);
            }
            drawLegend(g, methods);
        } finally {
            g.dispose();
        }
        write(image, png);
    }

    // ---------------------------------------------------------------- geometry (package-private for tests)

    /**
     * The data window of the plot area and its mapping to pixel coordinates; pixel {@code (x, y)} is
     * the square {@code [x, x+1) x [y, y+1)}, so {@code floor} of a mapped point is the pixel it lies in.
     */
    record PlotArea(double xMin, double xMax, double yMin, double yMax) {
        double px(double x) {
            return PLOT_LEFT + (x - xMin) / (xMax - xMin) * (PLOT_RIGHT - PLOT_LEFT);
        }

        double py(double y) {
            return PLOT_BOTTOM - (y - yMin) / (yMax - yMin) * (PLOT_BOTTOM - PLOT_TOP);
        }
    }

    /** The colour of series (or method) {@code i}. */
    static Color seriesColour(int i) {
        if (i < PALETTE.length) return PALETTE[i];
        // golden-angle hues keep later colours apart from each other
        float hue = (float) ((i - PALETTE.length) * 0.618033988749895 % 1.0);
        return Color.getHSBColor(hue, 0.75f, 0.8f);
    }

    /**
     * Validates {@code series} and returns the window that {@link #lines} plots: x spans the data, y the
     * data plus 5% on each side (a flat series gets a window around its value instead of a zero span).
     */
    static PlotArea linesArea(LinkedHashMap<String, double[][]> series) {
        if (series == null || series.isEmpty()) throw new IllegalArgumentException("line chart: no series given");
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY, yMax = Double.NEGATIVE_INFINITY;
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            String name = e.getKey();
            if (name == null) throw new IllegalArgumentException("line chart: a series has no name");
            double[][] s = e.getValue();
            if (s == null || s.length != 2 || s[0] == null || s[1] == null) {
                throw new IllegalArgumentException("series '" + name + "': expected {xs, ys}, got "
                        + (s == null ? "null" : s.length + " arrays" + (s.length == 2 ? " with a null one" : "")));
            }
            if (s[0].length != s[1].length) {
                throw new IllegalArgumentException("series '" + name + "': " + s[0].length + " xs but " + s[1].length + " ys");
            }
            if (s[0].length == 0) throw new IllegalArgumentException("series '" + name + "' is empty");
            int finite = 0;
            for (int k = 0; k < s[0].length; k++) {
                double x = s[0][k], y = s[1][k];
                if (Double.isInfinite(x)) throw new IllegalArgumentException("series '" + name + "': x[" + k + "] is " + x);
                if (Double.isInfinite(y)) throw new IllegalArgumentException("series '" + name + "': y[" + k + "] is " + y);
                if (Double.isNaN(x) || Double.isNaN(y)) continue;
                finite++;
                xMin = Math.min(xMin, x);
                xMax = Math.max(xMax, x);
                yMin = Math.min(yMin, y);
                yMax = Math.max(yMax, y);
            }
            if (finite == 0) throw new IllegalArgumentException("series '" + name + "' has no finite point (all NaN)");
        }
        double[] x = widen(xMin, xMax, 0);
        double[] y = widen(yMin, yMax, 0.05);
        return new PlotArea(x[0], x[1], y[0], y[1]);
    }

    /** Validates the bar chart's input and returns its window: x in group units {@code [0, metrics]}. */
    static PlotArea barsArea(List<String> metrics, List<String> methods, double[][] mean, double[][] std) {
        if (metrics == null || metrics.isEmpty()) throw new IllegalArgumentException("bar chart: no metrics given");
        if (methods == null || methods.isEmpty()) throw new IllegalArgumentException("bar chart: no methods given");
        // a loop, not contains(null): immutable lists throw on contains(null)
        for (String m : metrics) if (m == null) throw new IllegalArgumentException("bar chart: a metric has no name");
        for (String m : methods) if (m == null) throw new IllegalArgumentException("bar chart: a method has no name");
        checkShape("mean", mean, metrics, methods);
        checkShape("std", std, metrics, methods);
        double top = 1, bottom = 0;
        boolean negative = false;
        for (int m = 0; m < metrics.size(); m++) {
            for (int j = 0; j < methods.size(); j++) {
                double mu = mean[m][j], sd = std[m][j];
                String where = "metric '" + metrics.get(m) + "', method '" + methods.get(j) + "'";
                if (!Double.isFinite(mu)) throw new IllegalArgumentException("bar chart: mean of " + where + " is " + mu);
                if (!(sd >= 0) || Double.isInfinite(sd)) {
                    throw new IllegalArgumentException("bar chart: std of " + where + " must be finite and >= 0, got " + sd);
                }
                top = Math.max(top, mu + sd);
                bottom = Math.min(bottom, mu - sd);
                negative |= mu < 0;
            }
        }
        return new PlotArea(0, metrics.size(), negative ? bottom : 0, top);
    }

    /** Centre of bar {@code method} in group {@code metric}, in group units. */
    static double barCenter(int metric, int method, int methods) {
        return metric + (1 - GROUP_FILL) / 2 + (method + 0.5) * barWidth(methods);
    }

    /** Width of one bar, in group units. */
    static double barWidth(int methods) {
        return GROUP_FILL / methods;
    }

    // ---------------------------------------------------------------- drawing

    private static BufferedImage canvas() {
        return new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    }

    /** White background, rendering hints, title and axis labels. */
    private static void decorate(Graphics2D g, String title, String xLabel, String yLabel) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        // pure strokes: geometry lands where PlotArea says, not nudged to pixel centres
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setColor(AXIS);
        g.setFont(new Font("SansSerif", Font.BOLD, 18));
        drawCentred(g, fit(g, title, WIDTH - 20), WIDTH / 2.0, 30);
        g.setFont(new Font("SansSerif", Font.PLAIN, 14));
        if (!xLabel.isEmpty()) drawCentred(g, fit(g, xLabel, PLOT_RIGHT - PLOT_LEFT), (PLOT_LEFT + PLOT_RIGHT) / 2.0, HEIGHT - 22);
        if (!yLabel.isEmpty()) {
            AffineTransform saved = g.getTransform();
            g.rotate(-Math.PI / 2);
            // rotated: x runs upwards (negated), y to the right
            drawCentred(g, fit(g, yLabel, PLOT_BOTTOM - PLOT_TOP), -(PLOT_TOP + PLOT_BOTTOM) / 2.0, 20);
            g.setTransform(saved);
        }
    }

    private static void drawAxes(Graphics2D g) {
        g.setColor(AXIS);
        g.setStroke(new BasicStroke(1f));
        g.draw(new Line2D.Double(PLOT_LEFT, PLOT_TOP, PLOT_LEFT, PLOT_BOTTOM));
        g.draw(new Line2D.Double(PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT, PLOT_BOTTOM));
    }

    /** Horizontal grid lines and labels at about 5 round y values. */
    private static void drawYTicks(Graphics2D g, PlotArea area) {
        g.setFont(new Font("SansSerif", Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        List<Double> ticks = ticks(area.yMin(), area.yMax());
        for (double v : ticks) {
            double y = area.py(v);
            g.setColor(GRID);
            g.setStroke(new BasicStroke(1f));
            g.draw(new Line2D.Double(PLOT_LEFT, y, PLOT_RIGHT, y));
            g.setColor(AXIS);
            g.draw(new Line2D.Double(PLOT_LEFT - 5, y, PLOT_LEFT, y));
            String label = label(v, ticks);
            g.drawString(label, (float) (PLOT_LEFT - 8 - fm.stringWidth(label)), (float) (y + fm.getAscent() / 2.0 - 1));
        }
    }

    /** Tick marks and labels at about 5 round x values. */
    private static void drawXTicks(Graphics2D g, PlotArea area) {
        g.setFont(new Font("SansSerif", Font.PLAIN, 12));
        List<Double> ticks = ticks(area.xMin(), area.xMax());
        for (double v : ticks) {
            double x = area.px(v);
            g.setColor(AXIS);
            g.setStroke(new BasicStroke(1f));
            g.draw(new Line2D.Double(x, PLOT_BOTTOM, x, PLOT_BOTTOM + 5));
            drawCentred(g, label(v, ticks), x, PLOT_BOTTOM + 20);
        }
    }

    private static void drawLegend(Graphics2D g, List<String> names) {
        g.setFont(new Font("SansSerif", Font.PLAIN, 13));
        FontMetrics fm = g.getFontMetrics();
        int x = PLOT_RIGHT + 20, y = PLOT_TOP + 5, row = fm.getHeight() + 6;
        for (int i = 0; i < names.size() && y + row <= HEIGHT; i++, y += row) {
            g.setColor(seriesColour(i));
            g.fillRect(x, y, 14, 14);
            g.setColor(AXIS);
            g.drawString(fit(g, names.get(i), WIDTH - x - 30), x + 20, y + 12);
        }
    }

    private static void drawCentred(Graphics2D g, String text, double cx, double baseline) {
        g.drawString(text, (float) (cx - g.getFontMetrics().stringWidth(text) / 2.0), (float) baseline);
    }

    /** {@code text}, shortened with an ellipsis to fit {@code width} pixels in the current font. */
    private static String fit(Graphics2D g, String text, double width) {
        FontMetrics fm = g.getFontMetrics();
        if (fm.stringWidth(text) <= width) return text;
        String s = text;
        while (!s.isEmpty() && fm.stringWidth(s + "…") > width) s = s.substring(0, s.length() - 1);
        return s + "…";
    }

    // ---------------------------------------------------------------- ticks

    /** About 5 round values (steps of 1, 2 or 5 times a power of ten) within {@code [lo, hi]}. */
    static List<Double> ticks(double lo, double hi) {
        double step = niceStep((hi - lo) / 4);
        List<Double> out = new ArrayList<>();
        double first = Math.ceil(lo / step - 1e-9) * step;
        for (int k = 0; ; k++) {
            double v = first + k * step;
            if (v > hi + step * 1e-9) break;
            out.add(Math.abs(v) < step * 1e-9 ? 0.0 : v); // no "-0"
        }
        return out;
    }

    private static double niceStep(double raw) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double n = raw / magnitude;
        return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude;
    }

    /** A tick label with just enough decimals to tell its neighbours apart. */
    private static String label(double v, List<Double> ticks) {
        double step = ticks.size() > 1 ? ticks.get(1) - ticks.get(0) : Math.max(Math.abs(v), 1);
        double largest = 0;
        for (double t : ticks) largest = Math.max(largest, Math.abs(t));
        if (largest >= 1e6 || step < 1e-4) return String.format(Locale.ROOT, "%.2e", v);
        int decimals = Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /**
     * {@code [lo, hi]} plus {@code pad} of its span on each side; a zero span becomes a window of
     * +-10% of the value (+-1 around zero), so a flat series is drawn mid-height.
     */
    private static double[] widen(double lo, double hi, double pad) {
        if (hi == lo) {
            double half = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[]{lo - half, hi + half};
        }
        double margin = (hi - lo) * pad;
        return new double[]{lo - margin, hi + margin};
    }

    // ---------------------------------------------------------------- checks and output

    private static void requireText(Path png, String title, String xLabel, String yLabel) {
        if (png == null) throw new IllegalArgumentException("chart: no output path given");
        if (png.getFileName() == null) throw new IllegalArgumentException("chart: output path " + png + " names no file");
        if (title == null) throw new IllegalArgumentException("chart " + png + ": title is null");
        if (xLabel == null) throw new IllegalArgumentException("chart " + png + ": x label is null");
        if (yLabel == null) throw new IllegalArgumentException("chart " + png + ": y label is null");
    }

    private static void checkShape(String what, double[][] values, List<String> metrics, List<String> methods) {
        if (values == null) throw new IllegalArgumentException("bar chart: " + what + " is null");
        if (values.length != metrics.size()) {
            throw new IllegalArgumentException("bar chart: " + what + " has " + values.length + " rows but there are "
                    + metrics.size() + " metrics");
        }
        for (int m = 0; m < values.length; m++) {
            if (values[m] == null || values[m].length != methods.size()) {
                throw new IllegalArgumentException("bar chart: " + what + " row of metric '" + metrics.get(m) + "' has "
                        + (values[m] == null ? "no" : values[m].length) + " values but there are " + methods.size() + " methods");
            }
        }
    }

    /** Writes {@code image} next to {@code png} under a temporary name, then renames it into place. */
    private static void write(BufferedImage image, Path png) {
        Path target = png.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
            if (!ImageIO.write(image, "png", tmp.toFile())) throw new IOException("no PNG writer available");
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write chart " + png + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; that error is the one worth reporting
                }
            }
        }
    }
}
