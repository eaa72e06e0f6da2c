"""PyTorch reference timings for bench/src/main/java/dev/aspo/bench/AttentionBench.java.

Forward alone and forward + backward of torch.nn.functional.scaled_dot_product_attention
on the same shapes, float32 on the CPU. Inputs are taken in the projection layout
[B, T, H*D] and viewed as [B, H, T, D] (a transpose view, as a model would), so the layout
work PyTorch needs is part of its time, as it is of the fused Java kernel's.

Run: /work/venv/bin/python bench/pytorch/attention_bench.py [--threads N] [--repeat R]
(threads default: torch's default, i.e. the number of cores).
"""
import argparse
import time

import torch
import torch.nn.functional as F

SHAPES = [  # B, T, S, Hq, Hkv, D, causal
    (8, 84, 84, 8, 4, 32, True),
    (8, 37, 37, 4, 4, 32, False),
    (4, 256, 256, 8, 4, 32, True),
]


def heads(x, b, t, h, d):
    return x.view(b, t, h, d).transpose(1, 2)


def attention(q, k, v, b, t, s, hq, hkv, d, causal):
    qh, kh, vh = heads(q, b, t, hq, d), heads(k, b, s, hkv, d), heads(v, b, s, hkv, d)
    out = F.scaled_dot_product_attention(qh, kh, vh, is_causal=causal, enable_gqa=hkv != hq)
    return out.transpose(1, 2).reshape(b, t, hq * d)


def time_us(fn, repeat):
    for _ in range(max(3, repeat // 10)):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return samples[len(samples) // 2], samples[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'shape':40s} {'fwd median':>11s} {'fwd min':>9s} {'fwd+bwd median':>15s} {'fwd+bwd min':>12s}  (us)")
    for b, t, s, hq, hkv, d, causal in SHAPES:
        q = torch.randn(b, t, hq * d, requires_grad=True)
        k = torch.randn(b, s, hkv * d, requires_grad=True)
        v = torch.randn(b, s, hkv * d, requires_grad=True)
        gout = torch.randn(b, t, hq * d)

        def fwd():
            with torch.no_grad():
                attention(q, k, v, b, t, s, hq, hkv, d, causal)

        def fwd_bwd():
            out = attention(q, k, v, b, t, s, hq, hkv, d, causal)
            out.backward(gout)

        name = f"B{b}-T{t}-S{s}-Hq{hq}-Hkv{hkv}-D{d}-{'causal' if causal else 'full'}"
        f_med, f_min = time_us(fwd, args.repeat)
        fb_med, fb_min = time_us(fwd_bwd, args.repeat)
        print(f"{name:40s} {f_med:11.0f} {f_min:9.0f} {fb_med:15.0f} {fb_min:12.0f}")


if __name__ == "__main__":
    main()
