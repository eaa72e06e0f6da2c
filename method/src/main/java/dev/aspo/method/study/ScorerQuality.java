package dev.aspo.method.study;

import dev.aspo.method.train.ClipText;
import dev.aspo.method.world.Foils;
import dev.aspo.method.world.Judge;
import dev.aspo.method.world.Scene;
import dev.aspo.method.world.Verdict;
import dev.aspo.models.clip.ClipModel;
import dev.aspo.models.image.ClipImageProcessor;
import dev.aspo.models.tokenizer.Tokenizer;
import dev.aspo.tensor.Autograd;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Whether the CLIP scorer knows a sentence's truth from the image: the AUROC of ASPO's raw
 * {@code S_i = cos(text(s_i), image)} for telling correct sentences (positives) from wrong ones,
 * beside the same AUROC of a text-only baseline that scores each sentence against the mean image
 * embedding of all the images measured. A scorer that ranks by the sentence alone (its template,
 * which objects it names: SugarCrepe's warning about rule-made foils) does as well without the
 * image; the gap between the two is what the image adds.
 */
public final class ScorerQuality {
    /** One sentence about one image, whether it is true of it, and for a foil its kind (else null). */
    public record Item(Path image, String sentence, boolean correct, Foils.Kind kind) {
        public Item(Path image, String sentence, boolean correct) {
            this(image, sentence, correct, null);
        }
    }

    /**
     * The two AUROCs over {@code n} sentences of which {@code wrong} are wrong (NaN when one class is
     * empty), and for foils the AUROC of the true facts against each kind alone.
     */
    public record Result(double sentenceAuroc, double textOnlyAuroc, int n, int wrong, java.util.Map<Foils.Kind, Double> byKind) {}

    private final ClipModel clip;
    private final Tokenizer tokenizer;
    private final ClipImageProcessor processor;

    public ScorerQuality(ClipModel clip, Tokenizer tokenizer, ClipImageProcessor processor) {
        this.clip = clip;
        this.tokenizer = tokenizer;
        this.processor = processor;
    }

    /** The items of a response about {@code scene}: its sentences as the splitter cuts them, each judged. */
    public static List<Item> judged(Path image, Scene scene, String response) {
        List<Item> out = new ArrayList<>();
        for (var j : Judge.judge(scene, response).sentences()) {
            String s = j.sentence().strip();
            if (!s.isEmpty()) out.add(new Item(image, s, j.verdict() == Verdict.CORRECT));
        }
        return out;
    }

    /** For each scene one true fact and its foils of every kind that applies (the scorer's training task, held out). */
    public static List<Item> foilItems(List<Path> images, List<Scene> scenes, Foils foils) {
        List<Item> out = new ArrayList<>();
        for (int i = 0; i < scenes.size(); i++) {
            Foils.Fact f = foils.fact(scenes.get(i));
            out.add(new Item(images.get(i), f.text(), true));
            for (Foils.Foil x : foils.foils(scenes.get(i), f, Foils.Kind.values().length)) {
                out.add(new Item(images.get(i), x.text(), false, x.kind()));
            }
        }
        return out;
    }

    public Result measure(List<Item> items) throws IOException {
        try (var g = Autograd.noGrad()) {
            java.util.Map<Path, float[]> images = new java.util.LinkedHashMap<>();
            for (Item it : items) {
                if (!images.containsKey(it.image())) images.put(it.image(), clip.imageEmbeds(processor.pixelValues(List.of(it.image()))).toFloatArray());
            }
            float[] mean = new float[clip.config().projectionDim()];
            for (float[] e : images.values()) for (int j = 0; j < mean.length; j++) mean[j] += e[j];
            double[] withImage = new double[items.size()], textOnly = new double[items.size()];
            boolean[] correct = new boolean[items.size()];
            int wrong = 0;
            for (int i = 0; i < items.size(); i++) {
                Item it = items.get(i);
                float[] t = textEmbedding(it.sentence());
                withImage[i] = dot(t, images.get(it.image()));
                textOnly[i] = dot(t, mean);   // a positive multiple of the cosine with the mean embedding: same ranks
                correct[i] = it.correct();
                if (!it.correct()) wrong++;
            }
            java.util.Map<Foils.Kind, Double> byKind = new java.util.EnumMap<>(Foils.Kind.class);
            for (Foils.Kind k : Foils.Kind.values()) {
                List<Double> sc = new ArrayList<>();
                List<Boolean> pos = new ArrayList<>();
                for (int i = 0; i < items.size(); i++) {
                    if (items.get(i).correct() || items.get(i).kind() == k) {
                        sc.add(withImage[i]);
                        pos.add(items.get(i).correct());
                    }
                }
                if (pos.contains(false)) byKind.put(k, Auroc.of(sc, pos));
            }
            return new Result(Auroc.of(withImage, correct), Auroc.of(textOnly, correct), items.size(), wrong, byKind);
        }
    }

    private float[] textEmbedding(String s) {
        int[] ids = ClipText.ids(tokenizer, clip.config().textConfig(), s);
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        return clip.textEmbeds(ids, 1, ids.length, mask).toFloatArray();
    }

    private static double dot(float[] a, float[] b) {
        double d = 0;
        for (int j = 0; j < a.length; j++) d += (double) a[j] * b[j];
        return d;
    }
}
