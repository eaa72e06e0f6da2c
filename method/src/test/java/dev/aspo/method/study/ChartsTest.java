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
        assertEquals(Charts.WIDTH, image.getWidth());
        assertEquals(Charts.HEIGHT, image.getHeight());
        assertEquals(900, image.getWidth());
        assertEquals(500, image.getHeight());
        assertEquals(Color.WHITE.getRGB(), image.getRGB(5, 5), "background is white");
    }

    @Test
    void lineWindowSpansTheDataWithFivePercentOnY() {
        // x: 0..10 exactly; y: data 0..10, 5% of the span (0.5) added on each side
        Charts.PlotArea area = Charts.linesArea(threeSeries());
        assertEquals(new Charts.PlotArea(0, 10, -0.5, 10.5), area);
        assertEquals(Charts.PLOT_LEFT, area.px(0), 1e-9);
        assertEquals(Charts.PLOT_RIGHT, area.px(10), 1e-9);
        assertEquals((Charts.PLOT_TOP + Charts.PLOT_BOTTOM) / 2.0, area.py(5), 1e-9, "y = 5 is mid-height");
        assertTrue(area.py(10) < area.py(0), "larger y is higher up");
    }

    @Test
    void eachSeriesIsDrawnInItsOwnColourWhereItsLinePasses() throws IOException {
        Path png = dir.resolve("curves.png");
        LinkedHashMap<String, double[][]> series = threeSeries();
        Charts.lines(png, "t", "step", "y", series);
        BufferedImage image = read(png);
        Charts.PlotArea area = Charts.linesArea(series);

        assertColour(Charts.seriesColour(0), image, area, 6.5, 6.5, "diagonal at x=6.5");
        assertColour(Charts.seriesColour(0), image, area, 1.5, 1.5, "diagonal at x=1.5");
        assertColour(Charts.seriesColour(1), image, area, 2.5, 8, "flat line at 8");
        assertColour(Charts.seriesColour(1), image, area, 9.0, 8, "flat line at 8, second segment");
        // the NaN at x=2 is skipped: its neighbours (0,3) and (4,3) are joined through x=2
        assertColour(Charts.seriesColour(2), image, area, 2, 3, "line at 3 across the skipped NaN");
        assertColour(Charts.seriesColour(2), image, area, 5, 3, "line at 3");
        // ... and it ends at x=6, so nothing of it lies at x=8
        assertFalse(near(Charts.seriesColour(2), pixel(image, area, 8, 3)), "line at 3 must stop at x=6");
        assertEquals(Color.WHITE.getRGB(), pixel(image, area, 8, 3).getRGB(), "empty plot area is white");
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
    void flatSeriesIsDrawnAtMidHeight() throws IOException {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put("flat", new double[][]{{1, 2, 3, 4}, {0.7, 0.7, 0.7, 0.7}});
        Charts.PlotArea area = Charts.linesArea(series);
        assertTrue(area.yMin() < 0.7 && 0.7 < area.yMax(), "window around a flat value: " + area);
        Path png = dir.resolve("flat.png");
        Charts.lines(png, "flat", "step", "y", series);
        BufferedImage image = read(png);
        // the window is symmetric around the value, so the line runs along the middle of the plot area
        int midRow = (int) Math.floor((Charts.PLOT_TOP + Charts.PLOT_BOTTOM) / 2.0);
        int column = (int) Math.floor(area.px(2.5));
        assertTrue(near(Charts.seriesColour(0), new Color(image.getRGB(column, midRow))));
    }

    @Test
    void flatSeriesAtZeroAndALonePointWork() throws IOException {
        LinkedHashMap<String, double[][]> series = new LinkedHashMap<>();
        series.put("zero", new double[][]{{3}, {0}});
        Charts.PlotArea area = Charts.linesArea(series);
        assertTrue(area.xMin() < 3 && 3 < area.xMax() && area.yMin() < 0 && 0 < area.yMax(), area.toString());
        Path png = dir.resolve("point.png");
        Charts.lines(png, "one point", "step", "y", series);
        assertColour(Charts.seriesColour(0), read(png), area, 3, 0, "the lone point is marked");
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
    }

    @Test
    void barWindowRunsFromZeroToAtLeastOne() {
        double[][] small = {{0.9, 0.5, 0.2}, {0.3, 0.6, 0.1}};
        double[][] smallStd = {{0.05, 0.1, 0}, {0, 0, 0.02}};
        // every mean + std <= 1, so the axis tops out at 1
        assertEquals(new Charts.PlotArea(0, 2, 0, 1), Charts.barsArea(METRICS, METHODS, small, smallStd));
        // largest mean + std is 2 + 0.5
        double[][] large = {{2, 0.5, 0.2}, {0.3, 0.6, 0.1}};
        assertEquals(new Charts.PlotArea(0, 2, 0, 2.5), Charts.barsArea(METRICS, METHODS, large, new double[][]{{0.5, 0, 0}, {0, 0, 0}}));
        // bars of a group sit inside it, in method order, without overlapping
        double w = Charts.barWidth(3);
        for (int m = 0; m < 2; m++) {
            assertTrue(Charts.barCenter(m, 0, 3) - w / 2 > m);
            assertTrue(Charts.barCenter(m, 2, 3) + w / 2 < m + 1);
            assertEquals(w, Charts.barCenter(m, 1, 3) - Charts.barCenter(m, 0, 3), 1e-12);
        }
    }

    @Test
    void barTopLiesAtItsMean() throws IOException {
        Path png = dir.resolve("bars.png");
        double[][] mean = {{0.9, 0.5, 0.2}, {0.3, 0.6, 0.1}};
        double[][] std = {{0.05, 0.1, 0}, {0, 0, 0.02}};
        Charts.bars(png, "Final metrics", METRICS, METHODS, mean, std);
        BufferedImage image = read(png);
        Charts.PlotArea area = Charts.barsArea(METRICS, METHODS, mean, std);
        // y from 0 to 1 over the plot area's height: 0.9 sits 90% of the way up from the bottom
        double top = Charts.PLOT_BOTTOM - 0.9 * (Charts.PLOT_BOTTOM - Charts.PLOT_TOP);
        assertEquals(top, area.py(0.9), 1e-9);
        assertBarTop(image, area, 0, 0, 3, 0.9, "accuracy/dpo");
        assertBarTop(image, area, 1, 1, 3, 0.6, "f1/aspo");
        assertBarTop(image, area, 0, 2, 3, 0.2, "accuracy/sft");
    }

    @Test
    void barTopLiesAtItsMeanWhenTheAxisGoesAboveOne() throws IOException {
        Path png = dir.resolve("bars.png");
        double[][] mean = {{2, 0.5}};
        double[][] std = {{0.5, 0}};
        List<String> methods = List.of("dpo", "aspo");
        Charts.bars(png, "Reward", List.of("reward"), methods, mean, std);
        Charts.PlotArea area = Charts.barsArea(List.of("reward"), methods, mean, std);
        // axis up to 2.5: the bar of 2 ends 80% of the way up
        assertEquals(Charts.PLOT_BOTTOM - 0.8 * (Charts.PLOT_BOTTOM - Charts.PLOT_TOP), area.py(2), 1e-9);
        assertBarTop(read(png), area, 0, 0, 2, 2, "reward/dpo");
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

    /** The pixel that data point {@code (x, y)} falls in. */
    private static Color pixel(BufferedImage image, Charts.PlotArea area, double x, double y) {
        return new Color(image.getRGB((int) Math.floor(area.px(x)), (int) Math.floor(area.py(y))));
    }

    private static void assertColour(Color expected, BufferedImage image, Charts.PlotArea area, double x, double y, String what) {
        Color got = pixel(image, area, x, y);
        assertTrue(near(expected, got), what + ": expected " + expected + " but the pixel is " + got);
    }

    /**
     * The pixel 2 below the top of a bar, a quarter of its width in from the left (clear of the error
     * bar in the middle), has the method's colour; 10 pixels above the top it does not.
     */
    private static void assertBarTop(BufferedImage image, Charts.PlotArea area, int metric, int method, int methods,
                                     double mean, String what) {
        double w = Charts.barWidth(methods);
        int column = (int) Math.floor(area.px(Charts.barCenter(metric, method, methods) - w / 4));
        int topRow = (int) Math.floor(area.py(mean));
        Color colour = Charts.seriesColour(method);
        Color under = new Color(image.getRGB(column, topRow + 2));
        Color above = new Color(image.getRGB(column, topRow - 10));
        assertTrue(near(colour, under), what + ": just under the top expected " + colour + " but got " + under);
        assertFalse(near(colour, above), what + ": 10 px above the top must not be the bar's colour");
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
