package dev.aspo.method.world;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.Shape;

/**
 * Draws a scene with Java2D: antialiased filled shapes on a plain light-grey background.
 *
 * <pre>
 *   px = 48: a 3x3 grid of 16 px cells (no grid lines drawn)
 *   each shape is centred on the centre pixel of its cell; its extent across is
 *   SMALL 0.45 x cell (~7 px), LARGE 0.8 x cell (~13 px)
 * </pre>
 *
 * Every shape covers its centre pixel fully, so that pixel has exactly the object's colour.
 */
public final class SceneRenderer {
    /** The background: light grey, unlike every {@link Colour}. */
    public static final Color BACKGROUND = new Color(235, 235, 235);
    public static final int MIN_PX = 24;

    private SceneRenderer() {
    }

    public static BufferedImage render(Scene s, int px) {
        if (px < MIN_PX) throw new IllegalArgumentException("image size must be at least " + MIN_PX + " px, got " + px);
        BufferedImage img = new BufferedImage(px, px, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(BACKGROUND);
            g.fillRect(0, 0, px, px);
            for (SceneObject o : s.objects()) {
                double cell = px / 3.0;
                double r = (o.size() == Size.SMALL ? 0.45 : 0.8) * cell / 2;
                g.setColor(o.colour().rgb());
                g.fill(outline(o.shape(), centreX(o.cell(), px) + 0.5, centreY(o.cell(), px) + 0.5, r));
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    /** The column of the centre pixel of a cell. */
    public static int centreX(int cell, int px) {
        return middle(cell % 3, px);
    }

    /** The row of the centre pixel of a cell. */
    public static int centreY(int cell, int px) {
        return middle(cell / 3, px);
    }

    /** The middle pixel of grid band k (0..2): cells span [px*k/3, px*(k+1)/3). */
    private static int middle(int k, int px) {
        return (px * k / 3 + px * (k + 1) / 3) / 2;
    }

    /** The outline of a shape of "radius" r (half its extent) centred on (x, y). */
    private static Shape outline(dev.aspo.method.world.Shape shape, double x, double y, double r) {
        return switch (shape) {
            case CIRCLE -> new Ellipse2D.Double(x - r, y - r, 2 * r, 2 * r);
            case SQUARE -> new Rectangle2D.Double(x - 0.85 * r, y - 0.85 * r, 1.7 * r, 1.7 * r);
            case TRIANGLE -> polygon(new double[] {x, x + r, x - r}, new double[] {y - r, y + 0.8 * r, y + 0.8 * r});
            case DIAMOND -> polygon(new double[] {x, x + 0.8 * r, x, x - 0.8 * r}, new double[] {y - r, y, y + r, y});
            case STAR -> star(x, y, r);
            case CROSS -> {
                double w = 0.35 * r;
                Path2D.Double p = new Path2D.Double(new Rectangle2D.Double(x - r, y - w, 2 * r, 2 * w));
                p.append(new Rectangle2D.Double(x - w, y - r, 2 * w, 2 * r), false);
                yield p;
            }
        };
    }

    private static Path2D star(double x, double y, double r) {
        double[] xs = new double[10], ys = new double[10];
        for (int k = 0; k < 10; k++) {
            double rad = k % 2 == 0 ? r : 0.48 * r;
            double a = -Math.PI / 2 + k * Math.PI / 5;
            xs[k] = x + rad * Math.cos(a);
            ys[k] = y + rad * Math.sin(a);
        }
        return polygon(xs, ys);
    }

    private static Path2D polygon(double[] xs, double[] ys) {
        Path2D.Double p = new Path2D.Double();
        p.moveTo(xs[0], ys[0]);
        for (int i = 1; i < xs.length; i++) p.lineTo(xs[i], ys[i]);
        p.closePath();
        return p;
    }
}
