package dev.aspo.method.world;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * The yes/no questions of the SFT data, balanced as in SHAPES (Andreas et al., CVPR 2016): every
 * question asked of a scene where its answer is "yes" is asked again of a later scene where its
 * answer is "no" (the first one that lacks the object), so that no question's answer can be told
 * without the image. Per scene one yes-probe (a random present object) and one no-probe (the
 * oldest question still owed a "no" that this scene answers "no", else a random absent object).
 */
final class BalancedProbes {
    private final Deque<Probe> owed = new ArrayDeque<>();

    /** The scene's yes-probe and no-probe, in that order. */
    List<Probe> next(Scene s, ProbeSampler sampler, Random rng) {
        List<Probe> random = sampler.probes(s, PopeSplit.RANDOM, rng);
        Probe yes = random.stream().filter(Probe::answer).findFirst().orElseThrow();
        Probe no = null;
        for (Iterator<Probe> it = owed.iterator(); it.hasNext(); ) {
            Probe p = it.next();
            if (!s.has(p.colour(), p.shape())) {
                no = new Probe(p.question(), false, p.colour(), p.shape(), PopeSplit.RANDOM);
                it.remove();
                break;
            }
        }
        if (no == null) no = random.stream().filter(p -> !p.answer()).findFirst().orElseThrow();
        owed.addLast(yes);
        return List.of(yes, no);
    }
}
