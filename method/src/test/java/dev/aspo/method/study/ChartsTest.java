package dev.aspo.method.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChartsTest {

    static {
        // no display on the build machines; must be set before the first AWT class initialises
        System.setProperty("java.awt.headless", "true");
    }

    private static final double NaN = Double.NaN;
    private static final List<String> METRICS = List.of("accuracy", "f1");
    private static final List<String> METHODS = List.of("dpo", "aspo", "sft");

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ line chart

    /** A rising diagonal, a flat line at 8, and a shorter line at 3 whose second point is NaN. */
    private static LinkedHashMap<String, double[][]> threeSeries() {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put("diagonal", new double[][]{{0, 10}, {0, 10}});
        series.put("eight", new double[][]{{0, 5, 10}, {8, 8, 8}});
        series.put("three", new double[][]{{0, 2, 4, 6}, {3, NaN, 3, 3}});
        return series;
    }

    @Test
    void lineChartIsAPngOfTheStatedSize() throws IOException {
        Path png = dir.resolve("curves.png");
        Charts.lines(png, "Reward margin", "step", "margin", threeSeries());
        byte[] head = Arrays.copyOf(Files.readAllBytes(png), 8);
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, head);
        BufferedImage image = read(png);
        assertEquals(900, image.getWidth());
        assertEquals(500, image.getHeight());
        assertEquals(Color.WHITE.getRGB(), image.getRGB(5, 5), "background is white");
    }

    @Test
    void lineWindowSpansTheDataWithFivePercentOnY() {
        // x: 0..10 exactly; y: data 0..10, 5% of the span (0.5) added on each side
        assertEquals(new Charts.Window(0, 10, -0.5, 10.5), Charts.linesWindow(threeSeries()));
    }

    @Test
    void eachSeriesIsDrawnInItsOwnColourAndAHigherSeriesHigher() throws IOException {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put("high", new double[][]{{0, 5, 10}, {9, 9, 9}});
        series.put("low", new double[][]{{0, 5, 10}, {1, NaN, 1}});   // the NaN is skipped, not a gap to the end
        Path png = dir.resolve("curves.png");
        Charts.lines(png, "t", "step", "y", series);
        BufferedImage image = read(png);
        Pixels high = pixels(image, Charts.seriesColour(0)), low = pixels(image, Charts.seriesColour(1));
        // a line across the plot is hundreds of pixels; the legend's sample is a few dozen
        assertTrue(high.count > 400 && low.count > 400, "high " + high.count + ", low " + low.count + " pixels");
        assertTrue(high.medianRow < low.medianRow, "the series at 9 lies above the one at 1: rows " + high.medianRow + ", " + low.medianRow);
        // across the skipped NaN the line at 1 runs the whole width, as long as the one at 9
        assertEquals(high.count, low.count, high.count * 0.15, "the line at 1 spans the plot like the one at 9");
    }

    @Test
    void aLonePointIsMarked() throws IOException {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put("zero", new double[][]{{3}, {0}});
        Charts.Window w = Charts.linesWindow(series);
        assertTrue(w.xMin() < 3 && 3 < w.xMax() && w.yMin() < 0 && 0 < w.yMax(), w.toString());
        Path png = dir.resolve("point.png");
        Charts.lines(png, "one point", "step", "y", series);
        Path none = dir.resolve("none.png");
        series.put("zero", new double[][]{{3, 4}, {0, NaN}});   // the same single finite point
        Charts.lines(none, "one point", "step", "y", series);
        assertTrue(pixels(read(png), Charts.seriesColour(0)).count > 20, "the lone point is drawn");
        assertArrayEquals(Files.readAllBytes(png), Files.readAllBytes(none), "a NaN point adds nothing");
    }

    @Test
    void seriesColoursAreDistinct() {
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < i; j++) {
                assertFalse(near(Charts.seriesColour(i), Charts.seriesColour(j)), "colours " + j + " and " + i);
            }
        }
    }

    @Test
    void badLineInputIsRejectedAndWritesNoFile() throws IOException {
        Path png = dir.resolve("bad.png");
        assertBad(() -> Charts.lines(png, "t", "x", "y", new LinkedHashMap<>()), "no series");
        assertBad(() -> Charts.lines(png, "t", "x", "y", null), "no series");
        assertBad(() -> Charts.lines(png, "t", "x", "y", one("loss", new double[][]{{1, 2, 3}, {1, 2}})),
                "series 'loss': 3 xs but 2 ys");
        assertBad(() -> Charts.lines(png, "t", "x", "y", one("loss", new double[][]{{1, 2}})), "series 'loss': expected {xs, ys}");
        assertBad(() -> Charts.lines(png, "t", "x", "y", one("loss", new double[][]{{}, {}})), "series 'loss' is empty");
        assertBad(() -> Charts.lines(png, "t", "x", "y", one("loss", new double[][]{{1, 2}, {NaN, NaN}})),
                "series 'loss' has no finite point");
        assertBad(() -> Charts.lines(png, "t", "x", "y", one("loss", new double[][]{{1, 2}, {0, Double.POSITIVE_INFINITY}})),
                "series 'loss': y[1] is Infinity");
        LinkedHashMap<String, double[][]> oneBad = threeSeries();
        oneBad.put("nan", new double[][]{{1}, {NaN}});
        assertBad(() -> Charts.lines(png, "t", "x", "y", oneBad), "series 'nan' has no finite point");
        assertBad(() -> Charts.lines(png, null, "x", "y", threeSeries()), "title");
        assertFalse(Files.exists(png));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing written, no temporary file left");
        }
    }

    @Test
    void rewritingReplacesTheFileAndLeavesNoTemporaryFile() throws IOException {
        Path png = dir.resolve("sub").resolve("curves.png");
        Charts.lines(png, "first", "step", "y", threeSeries());
        byte[] first = Files.readAllBytes(png);
        Charts.lines(png, "second", "step", "y", threeSeries());
        try (Stream<Path> files = Files.list(png.getParent())) {
            assertEquals(List.of(png), files.toList());
        }
        // the file holds the second chart (another title), not the first
        assertFalse(Arrays.equals(first, Files.readAllBytes(png)), "the second chart replaced the first");
    }

    // ------------------------------------------------------------------ bar chart

    @Test
    void barChartIsAPngOfTheStatedSize() throws IOException {
        Path png = dir.resolve("bars.png");
        Charts.bars(png, "Final metrics", METRICS, METHODS, new double[][]{{0.9, 0.5, 0.2}, {0.3, 0.6, 0.1}},
                new double[][]{{0.05, 0.1, 0}, {0, 0, 0.02}});
        BufferedImage image = read(png);
        assertEquals(900, image.getWidth());
        assertEquals(500, image.getHeight());
        for (int j = 0; j < METHODS.size(); j++) {
            assertTrue(pixels(image, Charts.seriesColour(j)).count > 200, "bars of " + METHODS.get(j));
        }
    }

    @Test
    void barWindowRunsFromZeroToAtLeastOne() {
        double[][] small = {{0.9, 0.5, 0.2}, {0.3, 0.6, 0.1}};
        double[][] smallStd = {{0.05, 0.1, 0}, {0, 0, 0.02}};
        // every mean + std <= 1, so the axis tops out at 1
        assertEquals(new Charts.Window(0, 2, 0, 1), Charts.barsWindow(METRICS, METHODS, small, smallStd));
        // largest mean + std is 2 + 0.5
        double[][] large = {{2, 0.5, 0.2}, {0.3, 0.6, 0.1}};
        assertEquals(new Charts.Window(0, 2, 0, 2.5), Charts.barsWindow(METRICS, METHODS, large, new double[][]{{0.5, 0, 0}, {0, 0, 0}}));
        // a negative mean takes the axis down to the lowest mean - std
        assertEquals(new Charts.Window(0, 1, -0.75, 1), Charts.barsWindow(List.of("m"), List.of("a", "b"),
                new double[][]{{-0.5, 0.5}}, new double[][]{{0.25, 0}}));
    }

    @Test
    void barHeightsAreProportionalToTheirMeans() throws IOException {
        // one group, two bars of equal width: 0.4 and 0.8 on an axis from 0 to 1
        Path png = dir.resolve("bars.png");
        Charts.bars(png, "t", List.of("m"), List.of("a", "b"), new double[][]{{0.4, 0.8}}, new double[][]{{0, 0}});
        BufferedImage image = read(png);
        Pixels a = pixels(image, Charts.seriesColour(0)), b = pixels(image, Charts.seriesColour(1));
        assertEquals(2.0, (double) b.count / a.count, 0.15, "bar b has twice the area of bar a: " + a.count + ", " + b.count);
        assertTrue(b.topRow < a.topRow, "the taller bar reaches higher");
    }

    @Test
    void errorBarsAreDrawnOnlyWhereTheStdIsNotZero() throws IOException {
        Path without = dir.resolve("without.png"), with = dir.resolve("with.png");
        double[][] mean = {{0.4, 0.6}};
        Charts.bars(without, "t", List.of("m"), List.of("a", "b"), mean, new double[][]{{0, 0}});
        Charts.bars(with, "t", List.of("m"), List.of("a", "b"), mean, new double[][]{{0.2, 0.2}});
        Color errorBar = new Color(0x33, 0x33, 0x33);
        int plain = pixels(read(without), errorBar).count, barred = pixels(read(with), errorBar).count;
        assertTrue(barred > plain + 50, "error bars add dark pixels: " + plain + " -> " + barred);
    }

    @Test
    void badBarInputIsRejectedAndWritesNoFile() throws IOException {
        Path png = dir.resolve("bad.png");
        double[][] ok = {{0.1, 0.2, 0.3}, {0.4, 0.5, 0.6}};
        assertBad(() -> Charts.bars(png, "t", List.of(), METHODS, new double[0][], new double[0][]), "no metrics");
        assertBad(() -> Charts.bars(png, "t", METRICS, List.of(), ok, ok), "no methods");
        assertBad(() -> Charts.bars(png, "t", METRICS, METHODS, new double[][]{{0.1, 0.2, 0.3}}, ok),
                "mean has 1 rows but there are 2 metrics");
        assertBad(() -> Charts.bars(png, "t", METRICS, METHODS, ok, new double[][]{{0.1, 0.2, 0.3}, {0.4, 0.5}}),
                "std row of metric 'f1' has 2 values but there are 3 methods");
        assertBad(() -> Charts.bars(png, "t", METRICS, METHODS, new double[][]{{0.1, NaN, 0.3}, {0.4, 0.5, 0.6}}, ok),
                "mean of metric 'accuracy', method 'aspo' is NaN");
        assertBad(() -> Charts.bars(png, "t", METRICS, METHODS, ok, new double[][]{{0.1, 0.2, 0.3}, {0.4, 0.5, -0.1}}),
                "std of metric 'f1', method 'sft' must be finite and >= 0");
        assertFalse(Files.exists(png));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    // ------------------------------------------------------------------ helpers

    @Test
    void intervalChartDrawsEachSeriesAndItsBars() throws IOException {
        LinkedHashMap<String, List<Charts.IntervalPoint>> series = new LinkedHashMap<>();
        series.put("oracle", List.of(new Charts.IntervalPoint(1.0, -4, -6, -2), new Charts.IntervalPoint(0.5, 0, -2, 2)));
        series.put("aspo", List.of(new Charts.IntervalPoint(0.7, 3, 1, 5)));
        Path png = dir.resolve("dose.png");
        Charts.intervals(png, "dose-response", "AUROC", "CHAIR_i - DPO", series, java.util.Map.of("oracle", true), "DPO", 0);
        BufferedImage image = read(png);
        assertEquals(Charts.WIDTH, image.getWidth());
        Pixels oracle = pixels(image, Charts.seriesColour(0)), aspo = pixels(image, Charts.seriesColour(1));
        assertTrue(oracle.count > 200, "the joined oracle line and its bars: " + oracle.count + " pixels");
        assertTrue(aspo.count > 20, "ASPO's marker and bar: " + aspo.count + " pixels");
        assertTrue(aspo.topRow < oracle.topRow, "ASPO's interval (up to +5) reaches higher than the oracle's (up to +2)");
        assertBad(() -> new Charts.IntervalPoint(0.5, 3, 4, 5), "low <= y <= high");
        assertBad(() -> Charts.intervals(png, "t", "x", "y", new LinkedHashMap<>(), java.util.Map.of(), "DPO", 0), "no series");
    }

    private static LinkedHashMap<String, double[][]> one(String name, double[][] s) {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put(name, s);
        return series;
    }

    private static BufferedImage read(Path png) throws IOException {
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "ImageIO could not read " + png);
        return image;
    }

    /** Where a colour lies in an image: how many pixels, their median and top rows. */
    private record Pixels(int count, int medianRow, int topRow) {}

    private static Pixels pixels(BufferedImage image, Color colour) {
        List<Integer> rows = new java.util.ArrayList<>();
        int top = Integer.MAX_VALUE;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (!near(colour, new Color(image.getRGB(x, y)))) continue;
                rows.add(y);
                top = Math.min(top, y);
            }
        }
        return new Pixels(rows.size(), rows.isEmpty() ? -1 : rows.get(rows.size() / 2), top);
    }

    /** Same colour up to a small difference per channel (antialiasing leaves full-coverage pixels exact). */
    private static boolean near(Color a, Color b) {
        return Math.abs(a.getRed() - b.getRed()) <= 8 && Math.abs(a.getGreen() - b.getGreen()) <= 8
                && Math.abs(a.getBlue() - b.getBlue()) <= 8;
    }

    private static void assertBad(Runnable call, String messagePart) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().contains(messagePart), "message '" + e.getMessage() + "' should contain '" + messagePart + "'");
    }
}
