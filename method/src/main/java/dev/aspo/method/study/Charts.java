package dev.aspo.method.study;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts of the reproduction study, drawn by XChart: a line chart of per-step curves and a
 * grouped bar chart of final metrics with error bars, each with a legend. Every input is checked
 * before anything is drawn (one message naming the series, metric or method), and the image is
 * written to a temporary file in the target folder and then renamed over the target, so a failure
 * never leaves a half-written PNG behind. XChart draws into a {@code BufferedImage}: it runs
 * headless.
 */
public final class Charts {

    /** Image size in pixels. */
    static final int WIDTH = 900;
    static final int HEIGHT = 500;

    /** Colour-blind-friendly, well separated colours (Tableau 10); more series get generated hues. */
    private static final Color[] PALETTE = {
            new Color(0x1F77B4), new Color(0xFF7F0E), new Color(0x2CA02C), new Color(0xD62728),
            new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x7F7F7F),
            new Color(0xBCBD22), new Color(0x17BECF)};
    private static final Color AXIS = new Color(0x33, 0x33, 0x33);

    private Charts() {
    }

    /**
     * One line chart: x = step, one line per series (a distinct colour each, legend), title and axis
     * labels. Series may have different lengths; a point whose x or y is NaN is skipped (its
     * neighbours are joined); a series with one finite point is drawn as a marker.
     *
     * @param series series name -> {@code {xs, ys}} of equal length
     * @throws IllegalArgumentException on no series, a malformed or empty series, an infinite value or
     *                                  a series without any finite point
     */
    public static void lines(Path png, String title, String xLabel, String yLabel, LinkedHashMap<String, double[][]> series) {
        requireText(png, title, xLabel, yLabel);
        Window window = linesWindow(series); // validates the series
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        style(chart.getStyler(), series.size());
        chart.getStyler().setXAxisMin(window.xMin()).setXAxisMax(window.xMax()).setYAxisMin(window.yMin()).setYAxisMax(window.yMax());
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            double[][] finite = finitePoints(e.getValue());
            XYSeries s = chart.addSeries(e.getKey(), finite[0], finite[1]);
            s.setMarker(finite[0].length == 1 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        write(chart, png);
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
        Window window = barsWindow(metrics, methods, mean, std); // validates everything
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).build();
        style(chart.getStyler(), methods.size());
        chart.getStyler().setYAxisMin(window.yMin()).setYAxisMax(window.yMax());
        chart.getStyler().setErrorBarsColor(AXIS);
        chart.getStyler().setOverlapped(false);
        for (int j = 0; j < methods.size(); j++) {
            List<Double> means = new ArrayList<>(metrics.size()), stds = new ArrayList<>(metrics.size());
            for (int m = 0; m < metrics.size(); m++) {
                means.add(mean[m][j]);
                stds.add(std[m][j]);
            }
            chart.addSeries(methods.get(j), metrics, means, stds);
        }
        write(chart, png);
    }

    /** A point with a vertical interval, for {@link #intervals}. */
    public record IntervalPoint(double x, double y, double low, double high) {
        public IntervalPoint {
            if (!Double.isFinite(x) || !Double.isFinite(y) || !Double.isFinite(low) || !Double.isFinite(high) || low > y || y > high) {
                throw new IllegalArgumentException("interval point: need finite x and low <= y <= high, got " + x + ", " + y + " [" + low + ", " + high + "]");
            }
        }
    }

    /**
     * Points with vertical interval bars, one series a name (a colour, markers, joined by a line in
     * x order when {@code joined}), and a dashed horizontal reference line at {@code y = reference}
     * named {@code referenceName}: e.g. a method's difference from a baseline against its weights' AUROC.
     */
    public static void intervals(Path png, String title, String xLabel, String yLabel, LinkedHashMap<String, List<IntervalPoint>> series,
                                 Map<String, Boolean> joined, String referenceName, double reference) {
        requireText(png, title, xLabel, yLabel);
        if (series == null || series.isEmpty()) throw new IllegalArgumentException("interval chart: no series given");
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY, yMin = reference, yMax = reference;
        for (var e : series.entrySet()) {
            if (e.getValue().isEmpty()) throw new IllegalArgumentException("interval chart: series \"" + e.getKey() + "\" has no point");
            for (IntervalPoint p : e.getValue()) {
                xMin = Math.min(xMin, p.x());
                xMax = Math.max(xMax, p.x());
                yMin = Math.min(yMin, p.low());
                yMax = Math.max(yMax, p.high());
            }
        }
        double[] xs = widen(xMin, xMax, 0.05), ys = widen(yMin, yMax, 0.08);
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        style(chart.getStyler(), series.size() + 1);
        chart.getStyler().setXAxisMin(xs[0]).setXAxisMax(xs[1]).setYAxisMin(ys[0]).setYAxisMax(ys[1]);
        XYSeries ref = chart.addSeries(referenceName, new double[] {xs[0], xs[1]}, new double[] {reference, reference});
        ref.setMarker(SeriesMarkers.NONE);
        ref.setLineColor(AXIS);
        ref.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        int i = 0;
        for (var e : series.entrySet()) {
            Color c = seriesColour(i++);
            List<IntervalPoint> pts = new ArrayList<>(e.getValue());
            pts.sort(java.util.Comparator.comparingDouble(IntervalPoint::x));
            double[] x = new double[pts.size()], y = new double[pts.size()];
            for (int k = 0; k < x.length; k++) {
                x[k] = pts.get(k).x();
                y[k] = pts.get(k).y();
                XYSeries bar = chart.addSeries(e.getKey() + " interval " + k, new double[] {x[k], x[k]},
                        new double[] {pts.get(k).low(), pts.get(k).high()});
                bar.setShowInLegend(false);
                bar.setMarker(SeriesMarkers.NONE);
                bar.setLineColor(c);
                bar.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.SOLID);
            }
            XYSeries s = chart.addSeries(e.getKey(), x, y);
            s.setMarker(joined.getOrDefault(e.getKey(), false) ? SeriesMarkers.CIRCLE : SeriesMarkers.DIAMOND);
            s.setMarkerColor(c);
            s.setLineColor(c);
            if (!joined.getOrDefault(e.getKey(), false)) s.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.NONE);
        }
        write(chart, png);
    }

    /** The colour of series (or method) {@code i}. */
    static Color seriesColour(int i) {
        if (i < PALETTE.length) return PALETTE[i];
        // golden-angle hues keep later colours apart from each other
        float hue = (float) ((i - PALETTE.length) * 0.618033988749895 % 1.0);
        return Color.getHSBColor(hue, 0.75f, 0.8f);
    }

    /** The data window of a chart's plot area. */
    record Window(double xMin, double xMax, double yMin, double yMax) {}

    /**
     * Validates {@code series} and returns the window that {@link #lines} plots: x spans the data, y the
     * data plus 5% on each side (a flat series gets a window around its value instead of a zero span).
     */
    static Window linesWindow(LinkedHashMap<String, double[][]> series) {
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
        return new Window(x[0], x[1], y[0], y[1]);
    }

    /** Validates the bar chart's input and returns its y window (x is the metrics, one group each). */
    static Window barsWindow(List<String> metrics, List<String> methods, double[][] mean, double[][] std) {
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
        return new Window(0, metrics.size(), negative ? bottom : 0, top);
    }

    // ---------------------------------------------------------------- drawing

    /** White background, the palette, the legend to the right of the plot. */
    private static void style(Styler styler, int series) {
        Color[] colours = new Color[series];
        for (int i = 0; i < series; i++) colours[i] = seriesColour(i);
        styler.setSeriesColors(colours);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBackgroundColor(Color.WHITE);
        styler.setLegendPosition(Styler.LegendPosition.OutsideE);
        styler.setAntiAlias(true);
    }

    /** The points of {@code {xs, ys}} where both are numbers (the NaN ones are skipped). */
    private static double[][] finitePoints(double[][] s) {
        double[] xs = new double[s[0].length], ys = new double[s[0].length];
        int n = 0;
        for (int k = 0; k < s[0].length; k++) {
            if (Double.isNaN(s[0][k]) || Double.isNaN(s[1][k])) continue;
            xs[n] = s[0][k];
            ys[n++] = s[1][k];
        }
        return new double[][] {Arrays.copyOf(xs, n), Arrays.copyOf(ys, n)};
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

    /** Writes the chart as a PNG next to {@code png} under a temporary name, then renames it into place. */
    private static void write(Chart<?, ?> chart, Path png) {
        Path target = png.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = null;
        try {
            byte[] bytes = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
            Files.write(tmp, bytes);
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
