package dev.aspo.models.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.io.SafeTensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against transformers 5.17's CLIPImageProcessorPil (Pillow 12.3) on the images of
 * {@code models/src/test/python/make_clip_fixtures.py}: bit-identical for every PNG and JPEG there,
 * with and without a resize.
 */
class ClipImageProcessorTest {
    @TempDir
    Path tmp;

    static Path images() {
        try {
            return Path.of(ClipImageProcessorTest.class.getResource("/clip/images").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void pngsMatchTransformersExactlyWithAndWithoutResize() throws IOException {
        ClipImageProcessor p = ClipImageProcessor.load(images());
        assertEquals(32, p.shortestEdge);
        assertEquals(PillowResample.Filter.BICUBIC, p.resample);
        try (SafeTensorsFile f = SafeTensorsFile.open(images().resolve("expected.safetensors"))) {
            for (String png : List.of("rgb_32x32.png", "rgb_45x37.png", "rgb_20x27.png", "gray_40x40.png", "rgba_32x32.png",
                    "palette_32x32.png")) {
                Tensor ours = p.pixelValues(List.of(images().resolve(png)));
                Tensor theirs = f.readFloat("pixel_values." + png);
                assertArrayEquals(theirs.shape(), ours.shape(), png);
                assertArrayEquals(theirs.toFloatArray(), ours.toFloatArray(), png + ": bit-identical");
            }
            ClipImageProcessor bilinear = ClipImageProcessor.load(images().resolve("bilinear"));
            assertEquals(PillowResample.Filter.BILINEAR, bilinear.resample);
            for (String png : List.of("rgb_45x37.png", "rgb_20x27.png")) {
                Tensor ours = bilinear.pixelValues(List.of(images().resolve(png)));
                Tensor theirs = f.readFloat("bilinear.pixel_values." + png);
                assertArrayEquals(new int[] {1, 3, 24, 24}, ours.shape());
                assertArrayEquals(theirs.toFloatArray(), ours.toFloatArray(), "bilinear " + png + ": bit-identical");
            }
        }
    }

    /**
     * The JDK's JPEG decoder (libjpeg 6b: islow IDCT, fancy upsampling) and Pillow's libjpeg-turbo
     * give the same pixels for baseline JPEGs, so these are exact too (see {@link ClipImageProcessor}).
     */
    @Test
    void baselineJpegsMatchTransformersExactly() throws IOException {
        ClipImageProcessor p = ClipImageProcessor.load(images());
        try (SafeTensorsFile f = SafeTensorsFile.open(images().resolve("expected.safetensors"))) {
            for (String jpg : List.of("rgb_48x48.jpg", "rgb_37x29_444.jpg", "gray_30x30.jpg")) {
                float[] ours = p.pixelValues(List.of(images().resolve(jpg))).toFloatArray();
                float[] theirs = f.readFloatArray("pixel_values." + jpg);
                double max = 0;
                for (int i = 0; i < ours.length; i++) max = Math.max(max, Math.abs(ours[i] - theirs[i]));
                System.out.printf("  %s: max |diff| %.3g (normalised units)%n", jpg, max);
                assertArrayEquals(theirs, ours, jpg + ": bit-identical");
            }
        }
    }

    @Test
    void batchesStackAndTheConfigRoundTrips() throws IOException {
        ClipImageProcessor p = ClipImageProcessor.load(images());
        Tensor both = p.pixelValues(List.of(images().resolve("rgb_32x32.png"), images().resolve("rgb_45x37.png")));
        assertArrayEquals(new int[] {2, 3, 32, 32}, both.shape());
        float[] second = p.pixelValues(List.of(images().resolve("rgb_45x37.png"))).toFloatArray();
        float[] all = both.toFloatArray();
        for (int i = 0; i < second.length; i++) assertEquals(second[i], all[second.length + i]);

        p.save(tmp);
        String text = Files.readString(tmp.resolve(ClipImageProcessor.FILE));
        assertTrue(text.contains("\"image_processor_type\": \"CLIPImageProcessor\""), text);
        ClipImageProcessor q = ClipImageProcessor.load(tmp);
        assertEquals(p.toJson(), q.toJson());
    }

    @Test
    void withoutResizeOrCropTheMathIsRescaleThenNormaliseInFloat() {
        ClipImageProcessor p = new ClipImageProcessor(false, -1, -1, -1, PillowResample.Filter.BICUBIC, false, 0, 0, true,
                1 / 255.0, true, ClipImageProcessor.CLIP_MEAN, ClipImageProcessor.CLIP_STD, true, null);
        byte[] rgb = new byte[2 * 3 * 3];
        new Random(3).nextBytes(rgb);
        float[] out = p.preprocess(new RgbImage(3, 2, rgb, "test"), null);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 3; x++) {
                    float v = (float) ((rgb[(y * 3 + x) * 3 + c] & 0xff) * (1 / 255.0));
                    float expected = (v - (float) ClipImageProcessor.CLIP_MEAN[c]) / (float) ClipImageProcessor.CLIP_STD[c];
                    assertEquals(expected, out[(c * 2 + y) * 3 + x]);
                }
            }
        }
    }

    /**
     * The fixed-point resampler against the same filter evaluated in double, random sizes. Both round
     * to uint8 between the passes; a value that sits on a .5 tie there may round the other way in
     * double, and the second pass carries that level through a weight of at most 1, hence 1.5.
     */
    @Test
    void resamplingIsWithinRoundingOfTheExactFilter() {
        Random rng = new Random(11);
        for (int trial = 0; trial < 30; trial++) {
            int w = 1 + rng.nextInt(23), h = 1 + rng.nextInt(23), ow = 1 + rng.nextInt(23), oh = 1 + rng.nextInt(23);
            PillowResample.Filter filter = rng.nextBoolean() ? PillowResample.Filter.BICUBIC : PillowResample.Filter.BILINEAR;
            byte[] src = new byte[w * h * 2];
            rng.nextBytes(src);
            byte[] ours = PillowResample.resize(src, w, h, 2, ow, oh, filter);
            double[] tmp = reference(src, w, h, 2, ow, h, filter, true);
            // Pillow rounds to uint8 between the passes: so does the reference
            byte[] mid = new byte[tmp.length];
            for (int i = 0; i < tmp.length; i++) mid[i] = (byte) Math.max(0, Math.min(255, (int) Math.floor(tmp[i] + 0.5)));
            if (ow == w) mid = src;
            double[] ref = oh == h ? toDouble(mid) : reference(mid, ow, h, 2, ow, oh, filter, false);
            for (int i = 0; i < ref.length; i++) {
                double expected = Math.max(0, Math.min(255, ref[i]));
                assertEquals(expected, ours[i] & 0xff, 1.5, "trial " + trial + " " + w + "x" + h + " -> " + ow + "x" + oh
                        + " " + filter + " at " + i);
            }
        }
    }

    /** One separable pass of the filter in double, straight from its definition. */
    private static double[] reference(byte[] src, int w, int h, int ch, int ow, int oh, PillowResample.Filter f,
                                      boolean alongX) {
        int in = alongX ? w : h, out = alongX ? ow : oh;
        double scale = (double) in / out, fs = Math.max(scale, 1);
        double[] res = new double[(alongX ? h : oh) * (alongX ? ow : w) * ch];
        int outW = alongX ? ow : w;
        for (int o = 0; o < out; o++) {
            double center = (o + 0.5) * scale, sum = 0;
            double[] wts = new double[in];
            for (int i = 0; i < in; i++) {
                wts[i] = f.weight((i + 0.5 - center) / fs);
                sum += wts[i];
            }
            for (int line = 0; line < (alongX ? h : w); line++) {
                for (int c = 0; c < ch; c++) {
                    double acc = 0;
                    for (int i = 0; i < in; i++) {
                        int s = alongX ? (line * w + i) * ch + c : (i * w + line) * ch + c;
                        acc += (src[s] & 0xff) * wts[i];
                    }
                    int d = alongX ? (line * outW + o) * ch + c : (o * outW + line) * ch + c;
                    res[d] = acc / sum;
                }
            }
        }
        return res;
    }

    private static double[] toDouble(byte[] b) {
        double[] d = new double[b.length];
        for (int i = 0; i < b.length; i++) d[i] = b[i] & 0xff;
        return d;
    }

    @Test
    void errorsNameTheFileAndKey() throws IOException {
        Path f = tmp.resolve("preprocessor_config.json");
        Files.writeString(f, "{\"resample\": 1}");
        IOException e = assertThrows(IOException.class, () -> ClipImageProcessor.load(f));
        assertEquals(f + ": key resample 1 is not supported (supported: 2 = bilinear, 3 = bicubic)", e.getMessage());
        Files.writeString(f, "{\"size\": {\"longest_edge\": 3}}");
        e = assertThrows(IOException.class, () -> ClipImageProcessor.load(f));
        assertTrue(e.getMessage().startsWith(f + ": key size {\"longest_edge\":3} is not supported"), e.getMessage());
        Files.writeString(f, "{\"image_mean\": [0.5, 0.5]}");
        e = assertThrows(IOException.class, () -> ClipImageProcessor.load(f));
        assertEquals(f + ": key image_mean must be 3 numbers, got [0.5,0.5]", e.getMessage());
        Files.writeString(f, "{\"do_resize\": \"yes\"}");
        e = assertThrows(IOException.class, () -> ClipImageProcessor.load(f));
        assertEquals(f + ": key do_resize must be true or false, got \"yes\"", e.getMessage());

        Path notImage = tmp.resolve("x.png");
        Files.writeString(notImage, "hello");
        e = assertThrows(IOException.class, () -> RgbImage.read(notImage));
        assertTrue(e.getMessage().startsWith(notImage + ": "), e.getMessage());
        e = assertThrows(IOException.class, () -> RgbImage.read(tmp.resolve("none.png")));
        assertEquals(tmp.resolve("none.png") + ": no such file", e.getMessage());
    }
}
