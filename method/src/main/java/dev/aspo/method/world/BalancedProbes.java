package dev.aspo.method.world;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

/**
 * The yes/no questions of the SFT data, balanced as in SHAPES (Andreas et al., CVPR 2016): every
 * question asked of a scene where its answer is "yes" is asked again of a later scene where its
 * answer is "no" (the first one that lacks the object), so that no question's answer can be told
 * without the image. Per scene {@code k} yes-probes (distinct present objects, at most as many as
 * the scene holds) and as many no-probes (the oldest questions still owed a "no" that this scene
 * answers "no", then random absent objects).
 */
final class BalancedProbes {
    private final Deque<Probe> owed = new ArrayDeque<>();
    private final int pairs;

    /** {@code pairs}: the yes-probes (and no-probes) a scene gets at most, 1 or more. */
    BalancedProbes(int pairs) {
        if (pairs < 1) throw new IllegalArgumentException("yes/no probe pairs per scene must be at least 1, got " + pairs);
        this.pairs = pairs;
    }

    /** The scene's yes-probes, then as many no-probes. */
    List<Probe> next(Scene s, ProbeSampler sampler, Random rng) {
        List<Probe> random = sampler.probes(s, PopeSplit.RANDOM, rng);
        List<Probe> yes = new ArrayList<>(), absent = new ArrayList<>();
        for (Probe p : random) (p.answer() ? yes : absent).add(p);
        yes = yes.subList(0, Math.min(pairs, yes.size()));
        List<Probe> no = new ArrayList<>();
        for (Iterator<Probe> it = owed.iterator(); it.hasNext() && no.size() < yes.size(); ) {
            Probe p = it.next();
            if (!s.has(p.colour(), p.shape()) && !asks(no, p)) {   // the same question owed twice: once a scene
                no.add(new Probe(p.question(), false, p.colour(), p.shape(), PopeSplit.RANDOM));
                it.remove();
            }
        }
        for (Probe p : absent) {
            if (no.size() == yes.size()) break;
            if (!asks(no, p)) no.add(p);
        }
        owed.addAll(yes);
        List<Probe> out = new ArrayList<>(yes);
        out.addAll(no);
        return Collections.unmodifiableList(out);
    }

    private static boolean asks(List<Probe> probes, Probe p) {
        return probes.stream().anyMatch(q -> q.question().equals(p.question()));
    }
}
