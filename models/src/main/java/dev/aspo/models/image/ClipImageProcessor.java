package dev.aspo.models.image;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.aspo.models.hf.HfJson;
import dev.aspo.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * transformers' {@code CLIPImageProcessor} (as its PIL backend, {@code CLIPImageProcessorPil},
 * computes it), configured by a {@code preprocessor_config.json}:
 * <pre>
 *   image --convert("RGB")--> uint8 [H, W, 3]
 *         --resize: shortest edge to size.shortest_edge (other edge int(s * long / short)), or to
 *                   size.height x size.width; Pillow's resampling (bicubic: resample 3)--> uint8
 *         --center crop to crop_size (zero padding where the image is smaller)-->
 *         --x * rescale_factor (in double, then float)--> --(x - mean) / std (in float)--> [3, h, w]
 * </pre>
 *
 * <p><b>Exactness</b>, measured against transformers 5.17 + Pillow 12.3 on the images of the tests
 * ({@code models/src/test/resources/clip/images}): bit-identical pixel values (max |diff| 0), with
 * and without a resize (bicubic down- and upscaling, bilinear, crops with zero padding), because
 * {@link PillowResample} reproduces Pillow's fixed-point resampling, including the uint8 rounding
 * between its two passes. That holds for JPEG input too: the JDK's decoder (libjpeg 6b's islow IDCT
 * and fancy upsampling) and Pillow's libjpeg-turbo gave identical pixels on every baseline JPEG
 * tried (4:2:0, 4:2:2, 4:4:4, gray; quality 50-95; odd sizes). Not measured: progressive or
 * arithmetic-coded JPEGs; CMYK JPEGs and 16-bit grayscale PNGs are read differently from Pillow
 * (see {@link RgbImage}).
 *
 * <p>{@code do_convert_rgb = false} changes nothing here: images are always read as RGB (CLIP's
 * processors set it true; transformers would keep a gray image's single channel otherwise).
 * Supported {@code size} forms: {@code {"shortest_edge": n}}, {@code {"height": h, "width": w}}, or an
 * integer (= shortest edge, as CLIP's {@code default_to_square = false}).
 */
public final class ClipImageProcessor {
    public static final String FILE = "preprocessor_config.json";

    /** OpenAI's CLIP normalisation (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD). */
    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    private static final Set<String> KNOWN = Set.of("do_resize", "size", "resample", "do_center_crop", "crop_size",
            "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb");

    public final boolean doResize;
    /** The target shortest edge, or -1 when {@link #resizeHeight} x {@link #resizeWidth} is used. */
    public final int shortestEdge;
    public final int resizeHeight, resizeWidth;
    public final PillowResample.Filter resample;
    public final boolean doCenterCrop;
    public final int cropHeight, cropWidth;
    public final boolean doRescale;
    public final double rescaleFactor;
    public final boolean doNormalize;
    public final double[] imageMean, imageStd;
    public final boolean doConvertRgb;
    private final ObjectNode extra;

    /** CLIP's defaults at another size: shortest edge {@code size}, centre crop {@code size x size}. */
    public static ClipImageProcessor clip(int size) {
        return new ClipImageProcessor(true, size, -1, -1, PillowResample.Filter.BICUBIC, true, size, size, true, 1 / 255.0,
                true, CLIP_MEAN, CLIP_STD, true, null);
    }

    public ClipImageProcessor(boolean doResize, int shortestEdge, int resizeHeight, int resizeWidth,
                              PillowResample.Filter resample, boolean doCenterCrop, int cropHeight, int cropWidth,
                              boolean doRescale, double rescaleFactor, boolean doNormalize, double[] imageMean,
                              double[] imageStd, boolean doConvertRgb, ObjectNode extra) {
        if (doResize && shortestEdge <= 0 && (resizeHeight <= 0 || resizeWidth <= 0)) {
            throw new IllegalArgumentException("size: needs a positive shortest_edge or height and width");
        }
        if (doCenterCrop && (cropHeight <= 0 || cropWidth <= 0)) {
            throw new IllegalArgumentException("crop_size: height and width must be positive, got " + cropHeight + "x" + cropWidth);
        }
        if (imageMean.length != 3 || imageStd.length != 3) {
            throw new IllegalArgumentException("image_mean and image_std need 3 values (RGB), got " + imageMean.length
                    + " and " + imageStd.length);
        }
        for (double s : imageStd) if (s == 0) throw new IllegalArgumentException("image_std has a zero: " + Arrays.toString(imageStd));
        this.doResize = doResize;
        this.shortestEdge = shortestEdge;
        this.resizeHeight = resizeHeight;
        this.resizeWidth = resizeWidth;
        this.resample = resample;
        this.doCenterCrop = doCenterCrop;
        this.cropHeight = cropHeight;
        this.cropWidth = cropWidth;
        this.doRescale = doRescale;
        this.rescaleFactor = rescaleFactor;
        this.doNormalize = doNormalize;
        this.imageMean = imageMean.clone();
        this.imageStd = imageStd.clone();
        this.doConvertRgb = doConvertRgb;
        this.extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
    }

    // ---- config ------------------------------------------------------------------------------

    /** Reads {@code preprocessor_config.json} from a directory, or the given file. */
    public static ClipImageProcessor load(Path dirOrFile) throws IOException {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve(FILE) : dirOrFile;
        if (!Files.exists(file)) throw new IOException(file + ": no such file");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": expected a JSON object");
        Reader r = new Reader((ObjectNode) root, file);
        boolean doResize = r.bool("do_resize", true);
        int shortest = 224, rh = -1, rw = -1;
        JsonNode size = root.get("size");
        if (size != null && !size.isNull()) {
            if (size.isInt()) {
                shortest = size.intValue();
            } else if (size.isObject() && size.size() == 1 && size.has("shortest_edge")) {
                shortest = r.positive("size.shortest_edge", size.get("shortest_edge"));
            } else if (size.isObject() && size.size() == 2 && size.has("height") && size.has("width")) {
                shortest = -1;
                rh = r.positive("size.height", size.get("height"));
                rw = r.positive("size.width", size.get("width"));
            } else {
                throw new IOException(file + ": key size " + size
                        + " is not supported (supported: {\"shortest_edge\": n}, {\"height\": h, \"width\": w}, n)");
            }
        }
        int ch = 224, cw = 224;
        JsonNode crop = root.get("crop_size");
        if (crop != null && !crop.isNull()) {
            if (crop.isInt()) {
                ch = cw = crop.intValue();
            } else if (crop.isObject() && crop.has("height") && crop.has("width")) {
                ch = r.positive("crop_size.height", crop.get("height"));
                cw = r.positive("crop_size.width", crop.get("width"));
            } else {
                throw new IOException(file + ": key crop_size " + crop + " must be {\"height\": h, \"width\": w} or an integer");
            }
        }
        PillowResample.Filter filter;
        JsonNode res = root.get("resample");
        try {
            filter = res == null || res.isNull() ? PillowResample.Filter.BICUBIC : PillowResample.Filter.fromPil(res.asInt(-1));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": key " + e.getMessage(), e);
        }
        try {
            return new ClipImageProcessor(doResize, shortest, rh, rw, filter, r.bool("do_center_crop", true), ch, cw,
                    r.bool("do_rescale", true), r.number("rescale_factor", 1 / 255.0), r.bool("do_normalize", true),
                    r.triple("image_mean", CLIP_MEAN), r.triple("image_std", CLIP_STD), r.bool("do_convert_rgb", true),
                    r.extras());
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": key " + e.getMessage(), e);
        }
    }

    /** The config in HF's schema (keys sorted; unknown keys of the source file kept). */
    public ObjectNode toJson() {
        JsonNodeFactory n = JsonNodeFactory.instance;
        TreeMap<String, JsonNode> f = new TreeMap<>();
        extra.fields().forEachRemaining(e -> f.put(e.getKey(), e.getValue()));
        f.put("do_resize", n.booleanNode(doResize));
        ObjectNode size = n.objectNode();
        if (shortestEdge > 0) size.put("shortest_edge", shortestEdge);
        else size.put("height", resizeHeight).put("width", resizeWidth);
        f.put("size", size);
        f.put("resample", n.numberNode(resample.pilNumber));
        f.put("do_center_crop", n.booleanNode(doCenterCrop));
        f.put("crop_size", n.objectNode().put("height", cropHeight).put("width", cropWidth));
        f.put("do_rescale", n.booleanNode(doRescale));
        f.put("rescale_factor", n.numberNode(rescaleFactor));
        f.put("do_normalize", n.booleanNode(doNormalize));
        ArrayNode mean = n.arrayNode(), std = n.arrayNode();
        for (double v : imageMean) mean.add(v);
        for (double v : imageStd) std.add(v);
        f.put("image_mean", mean);
        f.put("image_std", std);
        f.put("do_convert_rgb", n.booleanNode(doConvertRgb));
        f.putIfAbsent("image_processor_type", n.textNode("CLIPImageProcessor"));
        ObjectNode out = n.objectNode();
        f.forEach(out::set);
        return out;
    }

    /** Writes {@code preprocessor_config.json} into {@code dir} (temporary file, then atomic rename). */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"))
                .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        String text = new ObjectMapper().writer(pp).writeValueAsString(toJson()) + "\n";
        HfJson.writeText(dir.resolve(FILE), text);   // the usual permissions (a createTempFile would leave it 0600)
    }

    // ---- processing --------------------------------------------------------------------------

    /** {@code pixel_values [B, 3, h, w]} for image files (PNG, JPEG). */
    public Tensor pixelValues(List<Path> files) throws IOException {
        RgbImage[] images = new RgbImage[files.size()];
        for (int i = 0; i < images.length; i++) images[i] = RgbImage.read(files.get(i));
        return pixelValues(images);
    }

    /** {@code pixel_values [B, 3, h, w]}; every image must come out at the same size (crop on). */
    public Tensor pixelValues(RgbImage... images) {
        if (images.length == 0) throw new IllegalArgumentException("pixel_values: no images");
        float[][] each = new float[images.length][];
        int[] hw0 = null;
        for (int i = 0; i < images.length; i++) {
            int[] hw = new int[2];
            each[i] = preprocess(images[i], hw);
            if (hw0 == null) {
                hw0 = hw;
            } else if (!Arrays.equals(hw0, hw)) {
                throw new IllegalArgumentException("pixel_values: " + images[i].source() + " comes out " + hw[0] + "x" + hw[1]
                        + " but " + images[0].source() + " " + hw0[0] + "x" + hw0[1] + " (turn do_center_crop on to batch them)");
            }
        }
        int per = each[0].length;
        float[] all = new float[per * images.length];
        for (int i = 0; i < images.length; i++) System.arraycopy(each[i], 0, all, i * per, per);
        return Tensor.of(all, images.length, 3, hw0[0], hw0[1]);
    }

    /** One image as {@code [3, h, w]} floats (channel-first); its {@code h, w} go into {@code outHw}. */
    public float[] preprocess(RgbImage image, int[] outHw) {
        byte[] px = image.rgb();
        int h = image.height(), w = image.width();
        if (doResize) {
            int nh, nw;
            if (shortestEdge > 0) {
                // transformers' get_resize_output_image_size(default_to_square=False)
                int shortSide = Math.min(w, h), longSide = Math.max(w, h);
                int newLong = (int) ((double) shortestEdge * longSide / shortSide);
                nh = w <= h ? newLong : shortestEdge;
                nw = w <= h ? shortestEdge : newLong;
            } else {
                nh = resizeHeight;
                nw = resizeWidth;
            }
            px = PillowResample.resize(px, w, h, 3, nw, nh, resample);
            h = nh;
            w = nw;
        }
        int top = 0, left = 0, oh = h, ow = w;
        if (doCenterCrop) {
            // transformers' center_crop: offset floor((h - ch) / 2); where the image is smaller it is
            // centred in zeros at ceil((ch - h) / 2), which is the same formula
            top = Math.floorDiv(h - cropHeight, 2);
            left = Math.floorDiv(w - cropWidth, 2);
            oh = cropHeight;
            ow = cropWidth;
        }
        float[] mean = new float[3], std = new float[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = (float) imageMean[c];
            std[c] = (float) imageStd[c];
        }
        float[] out = new float[3 * oh * ow];
        for (int y = 0; y < oh; y++) {
            int sy = y + top;
            for (int x = 0; x < ow; x++) {
                int sx = x + left;
                boolean inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                for (int c = 0; c < 3; c++) {
                    int u8 = inside ? px[(sy * w + sx) * 3 + c] & 0xff : 0;
                    float v = doRescale ? (float) (u8 * rescaleFactor) : u8;
                    if (doNormalize) v = (v - mean[c]) / std[c];
                    out[(c * oh + y) * ow + x] = v;
                }
            }
        }
        if (outHw != null) {
            outHw[0] = oh;
            outHw[1] = ow;
        }
        return out;
    }

    /** Typed reads of the processor's keys, each error naming the file and key. */
    private record Reader(ObjectNode node, Path file) {
        boolean bool(String key, boolean dflt) throws IOException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw new IOException(file + ": key " + key + " must be true or false, got " + v);
            return v.booleanValue();
        }

        double number(String key, double dflt) throws IOException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isNumber()) throw new IOException(file + ": key " + key + " must be a number, got " + v);
            return v.doubleValue();
        }

        int positive(String key, JsonNode v) throws IOException {
            if (v == null || !v.isInt() || v.intValue() <= 0) {
                throw new IOException(file + ": key " + key + " must be a positive integer, got " + v);
            }
            return v.intValue();
        }

        /** Three numbers, or one number for all channels (as transformers accepts). */
        double[] triple(String key, double[] dflt) throws IOException {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt.clone();
            if (v.isNumber()) return new double[] {v.doubleValue(), v.doubleValue(), v.doubleValue()};
            if (!v.isArray() || v.size() != 3) throw new IOException(file + ": key " + key + " must be 3 numbers, got " + v);
            double[] out = new double[3];
            for (int i = 0; i < 3; i++) {
                if (!v.get(i).isNumber()) throw new IOException(file + ": key " + key + " must be 3 numbers, got " + v);
                out[i] = v.get(i).doubleValue();
            }
            return out;
        }

        ObjectNode extras() {
            ObjectNode out = JsonNodeFactory.instance.objectNode();
            node.fields().forEachRemaining(e -> {
                if (!KNOWN.contains(e.getKey())) out.set(e.getKey(), e.getValue().deepCopy());
            });
            return out;
        }
    }
}
