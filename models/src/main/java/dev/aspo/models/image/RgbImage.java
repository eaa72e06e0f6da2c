package dev.aspo.models.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import dev.aspo.tensor.io.IoErrors;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * An 8-bit RGB image, {@code height} rows of {@code width} pixels of interleaved R, G, B bytes: what
 * PIL's {@code Image.convert("RGB")} gives, which is where transformers' image processors start.
 *
 * <p>The conversion follows PIL's: gray is replicated into the three channels, an alpha channel is
 * dropped (not composited), a palette image takes its palette colours, and samples are read as
 * stored (no colour management, as PIL ignores ICC profiles). 16-bit samples keep their high byte;
 * that case was not compared with Pillow (which opens 16-bit grayscale as 32-bit integers and clips
 * them when converting to RGB).
 *
 * @param rgb {@code height * width * 3} bytes
 * @param source where the image came from (for messages)
 */
public record RgbImage(int width, int height, byte[] rgb, String source) {
    public RgbImage {
        if (width <= 0 || height <= 0 || rgb.length != width * height * 3) {
            throw new IllegalArgumentException(source + ": " + width + "x" + height + " RGB needs " + width * height * 3
                    + " bytes, got " + rgb.length);
        }
    }

    /**
     * Reads a PNG or JPEG (whatever {@link ImageIO} decodes). JPEG decoders differ by a few levels
     * between libjpeg builds: see {@link ClipImageProcessor} for the measured difference.
     */
    public static RgbImage read(Path file) throws IOException {
        BufferedImage img;
        try (InputStream raw = Files.newInputStream(file); ImageInputStream in = new MemoryCacheImageInputStream(raw)) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new IOException(file + ": not an image format this JVM decodes (PNG, JPEG, BMP, GIF)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                // the size the header declares, before any pixel is allocated: a small file may declare a huge image
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w * h > maxPixels()) {
                    throw new IOException(file + ": declares " + w + "x" + h + " pixels, more than the " + maxPixels()
                            + " this reader allows (-Daspo.max_image_pixels=N to raise it); resize the image");
                }
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(file + ": ")) throw e;
            throw new IOException(file + ": cannot decode the image (" + IoErrors.reason(e) + ")", e);
        } catch (RuntimeException e) {   // decoders throw these too on damaged data (e.g. IndexOutOfBounds)
            throw new IOException(file + ": cannot decode the image (" + IoErrors.describe(e) + ")", e);
        }
        return of(img, file.toString());
    }

    /** The largest image (width * height) {@link #read} decodes: 2^26 pixels (8192 x 8192, 192 MB of RGB) unless set. */
    static long maxPixels() {
        return Long.getLong("aspo.max_image_pixels", 1L << 26);
    }

    /** The RGB bytes of {@code img} as PIL's {@code convert("RGB")} would give them. */
    public static RgbImage of(BufferedImage img, String source) {
        int w = img.getWidth(), h = img.getHeight();
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        byte[] out = new byte[w * h * 3];
        if (cm instanceof IndexColorModel icm) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int idx = r.getSample(x, y, 0), o = (y * w + x) * 3;
                    out[o] = (byte) icm.getRed(idx);
                    out[o + 1] = (byte) icm.getGreen(idx);
                    out[o + 2] = (byte) icm.getBlue(idx);
                }
            }
            return new RgbImage(w, h, out, source);
        }
        if (cm.isAlphaPremultiplied()) {
            throw new IllegalArgumentException(source + ": premultiplied alpha is not supported; pass a straight-alpha image");
        }
        int colorBands = cm.getNumColorComponents();
        if (colorBands != 1 && colorBands != 3) {
            throw new IllegalArgumentException(source + ": " + colorBands + " colour components (" + cm.getColorSpace().getType()
                    + " colour space) are not supported; convert to RGB or grayscale first");
        }
        int bits = cm.getComponentSize(0);
        int[] px = new int[r.getNumBands()];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.getPixel(x, y, px);
                int o = (y * w + x) * 3;
                for (int c = 0; c < 3; c++) out[o + c] = (byte) to8(px[colorBands == 3 ? c : 0], bits);
            }
        }
        return new RgbImage(w, h, out, source);
    }

    private static int to8(int v, int bits) {
        if (bits == 8) return v;
        if (bits > 8) return v >>> (bits - 8);
        return v * 255 / ((1 << bits) - 1);         // 1, 2, 4-bit gray without a palette
    }
}
