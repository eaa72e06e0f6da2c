"""Writes tensor/src/test/resources/optim/adamw.json: torch.optim.AdamW on small random
parameters, for AdamWParityTest.

Run from the repository root:  /work/venv/bin/python tensor/src/test/python/make_optim_fixture.py
(torch 2.x CPU). The output is a flat JSON object, every value an array of numbers, so the Java
test can read it without a JSON library. Keys, for each case C:

  C.hyper              [beta1, beta2, eps, weight_decay]
  C.lr                 learning rate of each step
  C.clip               [step index, max_norm, total norm torch returned]
  C.decay.NAME         [1] if NAME is in the weight-decay group, [0] if not
  C.init.NAME          initial values (flattened)
  C.grad.S.NAME        gradient given at step S (absent: the parameter had no gradient)
  C.param.S.NAME       the parameter after step S (after clipping, if S is the clip step)
  C.state.NAME.KEY     torch's optimizer state after the last step (exp_avg, exp_avg_sq, step)
"""
import json
import os

import torch


def floats(t):
    # float32 values as Python floats: repr() round-trips, so Java's parseDouble then (float) is exact
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run_case(out, case, seed, shapes, decay, hyper, lrs, clip_step, max_norm, no_grad):
    beta1, beta2, eps, wd = hyper
    g = torch.Generator().manual_seed(seed)
    params = {n: torch.randn(s, generator=g, dtype=torch.float32).requires_grad_() for n, s in shapes.items()}
    groups = [
        {"params": [p for n, p in params.items() if decay[n]], "weight_decay": wd},
        {"params": [p for n, p in params.items() if not decay[n]], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lrs[0], betas=(beta1, beta2), eps=eps, foreach=False)
    out[f"{case}.hyper"] = [beta1, beta2, eps, wd]
    out[f"{case}.lr"] = list(lrs)
    for n, p in params.items():
        out[f"{case}.decay.{n}"] = [1 if decay[n] else 0]
        out[f"{case}.init.{n}"] = floats(p)
    total = None
    for s, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        for n, p in params.items():
            if (s, n) in no_grad:
                p.grad = None
            else:
                p.grad = (torch.randn(p.shape, generator=g) * 2.0).to(torch.float32)
                out[f"{case}.grad.{s}.{n}"] = floats(p.grad)
        if s == clip_step:
            total = float(torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm))
        opt.step()
        for n, p in params.items():
            out[f"{case}.param.{s}.{n}"] = floats(p)
    out[f"{case}.clip"] = [clip_step, max_norm, total]
    for n, p in params.items():
        st = opt.state[p]
        for key in ("exp_avg", "exp_avg_sq", "step"):
            out[f"{case}.state.{n}.{key}"] = floats(st[key])


def main():
    out = {}
    # Sizes that do not divide the vector width (8 or 16 floats): vector body plus scalar tail.
    # Names exercise AdamW.biasesAndNorms(): biases and norm weights are not decayed.
    shapes = {"fc.weight": (3, 5), "fc.bias": (7,), "layer_norm1.weight": (19,), "emb": (2, 11)}
    decay = {"fc.weight": True, "fc.bias": False, "layer_norm1.weight": False, "emb": True}
    # torch's default betas; a warm-up-like lr sequence starting at 0; "emb" has no gradient at
    # step 1, so its step counter lags behind the others; step 3 clips (the norm is about 13).
    run_case(out, "default", 1, shapes, decay, (0.9, 0.999, 1e-8, 0.1),
             [0.0, 0.02, 0.05, 0.03, 0.01], 3, 1.0, {(1, "emb")})
    # beta1 < 0.5 takes lerp's other branch; a large eps and strong decay
    run_case(out, "odd", 2, shapes, decay, (0.3, 0.95, 1e-3, 0.5),
             [0.1, 0.07, 0.04, 0.02, 0.01], 0, 2.5, {(3, "fc.bias"), (4, "fc.bias")})
    path = os.path.join("tensor", "src", "test", "resources", "optim", "adamw.json")
    with open(path, "w") as f:
        f.write("{\n")
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()))
        f.write("\n}\n")
    print(f"wrote {path} ({len(out)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
