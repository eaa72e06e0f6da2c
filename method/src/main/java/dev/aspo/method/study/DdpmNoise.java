package dev.aspo.method.study;

import dev.aspo.models.image.RgbImage;
import java.util.Random;

/**
 * SeVa's image corruption: the forward diffusion of DDPM (Ho et al. 2020) at step {@code t} of
 * {@code T = 1000} with betas linear from 1e-4 to 0.02,
 * {@code x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps}, {@code abar_t = prod_{s<=t} (1 - beta_s)},
 * on pixels scaled to [-1, 1] (as DDPM trains), clamped back to [-1, 1] and rounded to bytes.
 * At t = 500, {@code abar} is about 0.078: the signal keeps 28% of its amplitude under noise of
 * standard deviation 0.96, so colours and shapes are still there but unreliable.
 */
public final class DdpmNoise {
    public static final int STEPS = 1000;
    public static final double BETA_START = 1e-4, BETA_END = 0.02;

    private DdpmNoise() {}

    /** {@code abar_t} for {@code t} in 1..1000 (t counts steps taken: abar_1 = 1 - beta_1). */
    public static double alphaBar(int t) {
        if (t < 1 || t > STEPS) throw new IllegalArgumentException("diffusion step must be in 1.." + STEPS + ", got " + t);
        double a = 1;
        for (int s = 0; s < t; s++) a *= 1 - (BETA_START + (BETA_END - BETA_START) * s / (STEPS - 1));
        return a;
    }

    /** {@code image} noised to step {@code t} with Gaussian noise from {@code rng}. */
    public static RgbImage noise(RgbImage image, int t, Random rng) {
        double ab = alphaBar(t), signal = Math.sqrt(ab), sigma = Math.sqrt(1 - ab);
        byte[] in = image.rgb(), out = new byte[in.length];
        for (int i = 0; i < in.length; i++) {
            double x0 = (in[i] & 0xff) / 127.5 - 1;
            double xt = Math.max(-1, Math.min(1, signal * x0 + sigma * rng.nextGaussian()));
            out[i] = (byte) Math.round((xt + 1) * 127.5);
        }
        return new RgbImage(image.width(), image.height(), out, image.source() + " (DDPM t=" + t + ")");
    }
}
