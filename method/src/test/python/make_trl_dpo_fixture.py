"""Makes method/src/test/resources/trl/dpo_losses.json: TRL's own DPO loss, gradient and logged
metrics on given per-token log-probs, for TrlDpoFixtureTest.

TRL computes the loss inside DPOTrainer._compute_loss from a model's logits. To run that very
code on chosen numbers, this script builds a DPOTrainer without a model (object.__new__ and the
attributes _compute_loss reads), feeds it a stand-in model whose logits are never used for the
loss, and replaces TRL's selective_log_softmax with a function that returns the given policy
log-probs (a tensor that requires grad, so backward() gives d loss / d log-prob per token). The
reference log-probs go in as precomputed sums (TRL's precompute_ref_log_probs path). Everything
else, the loss types, their length normalisation and the metrics, is TRL's code.

Cases: loss_type "sigmoid" at two betas and "ipo"; batches of 3 records with different chosen and
rejected lengths, one record whose rejected response has the larger reward. TRL 1.13 applies
label_smoothing only to its robust/exo/aot losses, not to sigmoid, so there is no TRL-made cDPO
case (the project's label smoothing is the cDPO form, tested in PreferenceLossTest).

Run from the repository root with a venv outside the repository (torch 2.13 CPU, trl 1.13):

    python3 -m venv /work/venv-fixtures
    /work/venv-fixtures/bin/pip install torch trl
    /work/venv-fixtures/bin/python method/src/test/python/make_trl_dpo_fixture.py
"""
import json
import os
from collections import defaultdict
from types import SimpleNamespace

import accelerate
import torch
import trl
import trl.trainer.dpo_trainer as dpo_module
from trl import DPOTrainer

OUT = "method/src/test/resources/trl/dpo_losses.json"


def records(seed, lengths):
    """Per-token log-probs as float32, each response its own length; record 1 prefers the rejected."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for b, (nc, nr) in enumerate(lengths):
        def draw(n, shift):
            return (-torch.rand(n, generator=g, dtype=torch.float32) * 2.0 - 0.05 + shift).clamp(max=-0.01)
        pc, rc = draw(nc, 0.2 if b != 1 else -0.3), draw(nc, 0.0)
        pr, rr = draw(nr, -0.2 if b != 1 else 0.3), draw(nr, 0.0)
        out.append({"policy_chosen": pc, "ref_chosen": rc, "policy_rejected": pr, "ref_rejected": rr})
    return out


def run_trl(loss_type, beta, recs):
    """TRL's _compute_loss on these log-probs: loss, per-token gradient and the logged metrics."""
    n = len(recs)
    rows = [r["policy_chosen"] for r in recs] + [r["policy_rejected"] for r in recs]
    width = max(len(x) for x in rows)
    # input_ids: one prompt token, then the completion; the mask marks the completion tokens
    completion_mask = torch.zeros(2 * n, width + 1, dtype=torch.long)
    policy = torch.zeros(2 * n, width, dtype=torch.float32)
    for i, x in enumerate(rows):
        completion_mask[i, 1:1 + len(x)] = 1
        policy[i, :len(x)] = x
    policy.requires_grad_(True)
    inputs = {
        "input_ids": torch.ones(2 * n, width + 1, dtype=torch.long),
        "attention_mask": torch.ones(2 * n, width + 1, dtype=torch.long),
        "completion_mask": completion_mask,
        "ref_chosen_logps": torch.stack([r["ref_chosen"].sum() for r in recs]),
        "ref_rejected_logps": torch.stack([r["ref_rejected"].sum() for r in recs]),
    }

    class StandIn(torch.nn.Module):
        """Logits of the right shape for TRL's logging (entropy, logits/*); the loss never sees them."""

        def forward(self, input_ids, **kwargs):
            return SimpleNamespace(logits=torch.zeros(*input_ids.shape, 4))

    model = StandIn().train()
    trainer = object.__new__(DPOTrainer)
    trainer.model = model
    trainer.accelerator = accelerate.Accelerator(cpu=True)
    trainer.aux_loss_enabled = False
    trainer.ld_alpha = None
    trainer.precompute_ref_logps = True
    trainer.f_divergence_type = "reverse_kl"
    trainer.loss_types = [loss_type]
    trainer.loss_weights = [1.0]
    trainer.beta = beta
    trainer.label_smoothing = 0.0
    trainer.use_weighting = False
    trainer._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    trainer._total_train_tokens = 0
    trainer._tp_size = 1

    original = dpo_module.selective_log_softmax
    dpo_module.selective_log_softmax = lambda logits, labels: policy * 1.0   # a fresh tensor: TRL masks it in place
    try:
        loss = trainer._compute_loss(model, inputs, return_outputs=False)
    finally:
        dpo_module.selective_log_softmax = original
    loss.backward()
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()
               if k.startswith("rewards/") or k.startswith("logps/")}
    grads = []
    for b in range(n):
        grads.append({"policy_chosen": [float(v) for v in policy.grad[b, :len(recs[b]["policy_chosen"])]],
                      "policy_rejected": [float(v) for v in policy.grad[n + b, :len(recs[b]["policy_rejected"])]]})
    return float(loss.detach()), metrics, grads


def main():
    lengths = [(5, 3), (2, 6), (7, 7)]
    cases = []
    for name, loss_type, beta, seed in [("sigmoid_beta_0.1", "sigmoid", 0.1, 1), ("sigmoid_beta_0.5", "sigmoid", 0.5, 2),
                                        ("ipo_beta_0.1", "ipo", 0.1, 3)]:
        recs = records(seed, lengths)
        loss, metrics, grads = run_trl(loss_type, beta, recs)
        cases.append({
            "name": name,
            "loss_type": loss_type,
            "beta": beta,
            "records": [{k: [float(v) for v in t] for k, t in r.items()} for r in recs],
            "expected": {"loss": loss, "metrics": metrics, "grad": grads},
        })
    doc = {
        "description": "TRL DPOTrainer._compute_loss on given per-token log-probs (see make_trl_dpo_fixture.py)",
        "trl": trl.__version__,
        "torch": torch.__version__,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
