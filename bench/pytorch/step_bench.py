"""PyTorch's side of the training-step benchmark (the yardstick of `aspo bench step`).

One step: forward of LlavaForConditionalGeneration in train mode with labels (transformers'
causal-LM loss: labels shifted by one, mean cross-entropy over the kept positions), backward,
AdamW (lr 1e-4, torch's other defaults, every parameter in one group) and zero_grad.
2 warm-up steps, then N timed ones; float32 eager on the CPU with a fixed number of threads.
The last line printed is one JSON object, with the same keys as `aspo bench step`:

    seconds_per_step   median wall time of one step
    tokens_per_s       batch * seq / seconds_per_step
    peak_rss_mb        the process's peak resident set (ru_maxrss), the closest thing to
                       aspo's peak_heap_mb that PyTorch offers on the CPU (it includes the
                       Python interpreter and libraries, so it is an upper bound)

Run: /work/venv/bin/python bench/pytorch/step_bench.py --model DIR --input DIR/input.safetensors --steps 20
"""
import argparse
import json
import resource
import statistics
import time

import torch
from safetensors.torch import load_file
from transformers import LlavaForConditionalGeneration


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = LlavaForConditionalGeneration.from_pretrained(args.model, dtype=torch.float32)
    model.train()
    batch = load_file(args.input)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        out = model(**batch)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return out.loss.item()

    for _ in range(args.warmup):
        step()
    times, losses = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    b, t = batch["input_ids"].shape
    print(json.dumps({"impl": "pytorch " + torch.__version__, "threads": torch.get_num_threads(), "steps": args.steps,
                      "seconds_per_step": round(sec, 6), "min_seconds": round(min(times), 6),
                      "tokens_per_s": round(b * t / sec, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "first_loss": round(losses[0], 6), "last_loss": round(losses[-1], 6)}))


if __name__ == "__main__":
    main()
