"""Times torch.mm on float32 n x n matrices, the counterpart of MatmulBench (docs/PERFORMANCE.md).

Prints one line per n: the median milliseconds over many repetitions (after a warm-up) and the
GFLOP/s that gives (2 n^3 / time). Threads: torch's default, which is the number of cores here;
--threads overrides it.
"""
import argparse
import statistics
import time

import torch


def bench(n, reps, warmup):
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=gen, dtype=torch.float32)
    b = torch.randn(n, n, generator=gen, dtype=torch.float32)
    out = torch.empty(n, n, dtype=torch.float32)
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring time per size (about)")
    ap.add_argument("--csv", help="also write n,median_ms,best_ms lines to this file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float32 torch.mm")
    print(f"{'n':>6} {'median ms':>10} {'GFLOP/s':>9} {'best ms':>9} {'GFLOP/s':>9} {'reps':>6}")
    rows = []
    for n in args.sizes:
        probe, _ = bench(n, 5, 3)
        reps = max(20, int(args.seconds / max(probe, 1e-6)))
        med, best = bench(n, reps, max(10, reps // 10))
        flops = 2.0 * n ** 3
        print(f"{n:>6} {med * 1e3:>10.3f} {flops / med / 1e9:>9.1f} {best * 1e3:>9.3f} {flops / best / 1e9:>9.1f} {reps:>6}")
        rows.append(f"{n},{med * 1e3:.6f},{best * 1e3:.6f}")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
