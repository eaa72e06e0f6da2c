package dev.aspo.method.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class SceneRendererTest {
    private static final int BG = SceneRenderer.BACKGROUND.getRGB() & 0xFFFFFF;

    @Test
    void centreOfEveryObjectHasItsColourAndEmptyCellsAreBackground() {
        SceneGenerator gen = new SceneGenerator(11);
        for (int px : new int[] {48, 24, 64, 97}) {
            for (int i = 0; i < 200; i++) {
                Scene s = gen.next();
                BufferedImage img = SceneRenderer.render(s, px);
                assertEquals(px, img.getWidth());
                assertEquals(px, img.getHeight());
                assertEquals(BufferedImage.TYPE_INT_RGB, img.getType());
                boolean[] used = new boolean[9];
                for (SceneObject o : s.objects()) {
                    used[o.cell()] = true;
                    int rgb = img.getRGB(SceneRenderer.centreX(o.cell(), px), SceneRenderer.centreY(o.cell(), px)) & 0xFFFFFF;
                    assertEquals(o.colour().rgb().getRGB() & 0xFFFFFF, rgb, o + " at " + px + " px");
                }
                for (int c = 0; c < 9; c++) {
                    if (used[c]) continue;
                    assertEquals(BG, img.getRGB(SceneRenderer.centreX(c, px), SceneRenderer.centreY(c, px)) & 0xFFFFFF, "empty cell " + c);
                }
            }
        }
    }

    @Test
    void cellCentresAt48pxAreTheMiddlesOf16pxCells() {
        assertEquals(8, SceneRenderer.centreX(0, 48));
        assertEquals(24, SceneRenderer.centreX(4, 48));
        assertEquals(40, SceneRenderer.centreY(8, 48));
        assertEquals(8, SceneRenderer.centreY(2, 48));
        assertEquals(40, SceneRenderer.centreX(5, 48));
    }

    @Test
    void sizesAreAboutSevenAndThirteenPixelsAcross() {
        for (Size size : Size.values()) {
            Scene s = new Scene(List.of(new SceneObject(Shape.SQUARE, Colour.BLUE, size, 4)));
            BufferedImage img = SceneRenderer.render(s, 48);
            int y = SceneRenderer.centreY(4, 48), across = 0;
            for (int x = 0; x < 48; x++) if ((img.getRGB(x, y) & 0xFFFFFF) != BG) across++;
            // the square is 0.85 of the extent: SMALL 0.45*16*0.85 = 6.1, LARGE 0.8*16*0.85 = 10.9 (+1 for antialiased edges)
            if (size == Size.SMALL) assertTrue(across >= 6 && across <= 8, "small square " + across + " px");
            else assertTrue(across >= 11 && across <= 13, "large square " + across + " px");
        }
    }

    @Test
    void coloursAreFarApart() {
        for (Colour a : Colour.values()) {
            for (Colour b : Colour.values()) {
                if (a == b) continue;
                int d = Math.max(Math.abs(a.rgb().getRed() - b.rgb().getRed()), Math.max(
                        Math.abs(a.rgb().getGreen() - b.rgb().getGreen()), Math.abs(a.rgb().getBlue() - b.rgb().getBlue())));
                assertTrue(d >= 90, a + " vs " + b + ": " + d);
            }
        }
    }

    @Test
    void tooSmallAnImageIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> SceneRenderer.render(new Scene(List.of()), 23));
    }
}
