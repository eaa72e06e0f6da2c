"""Makes the Llama parity fixtures for LlamaParityTest and GenerateParityTest.

Tiny random LlamaForCausalLM models built in transformers (no hub access), saved with
save_pretrained, plus what they compute:

    models/src/test/resources/llama/<case>/config.json          save_pretrained
    models/src/test/resources/llama/<case>/model.safetensors    save_pretrained
    models/src/test/resources/llama/<case>/expected.safetensors inputs and outputs:
        input.ids [B,T] I64, input.attention_mask [B,T] I64 (when the case pads), input.labels [B,T] I64
        expected.logits [B,T,V], expected.loss [1]
        grad.<name>   d loss / d parameter for every tensor in model.safetensors (HF names)
        gen.*         greedy generate() prompts and outputs (case right_padding only)

Cases:
    gqa_untied      4 query heads, 2 kv heads, separate lm_head, no pad token, labels = ids
    mha_tied        4/4 heads, tied embeddings, pad_token_id 0 (ids include 0: its embedding row
                    gets gradient only through the tied output projection)
    right_padding   GQA with attention/MLP biases, rope_theta 5e5, rms eps 1e-5, right padding
                    with an attention mask, labels -100 on the pads; greedy generation, single
                    prompt and a left-padded batch in which one row stops at EOS
    ignored_labels  one kv head (MQA), head_dim 16 != hidden/heads, labels -100 scattered

The weights are drawn wider than transformers' init (std 0.02 gives near-uniform logits and
vanishing gradients, which would test little); norms around 1, biases around 0.

Run from the repository root with the project's venv (torch 2.13 CPU, transformers 5.17.0):

    /work/venv/bin/python models/src/test/python/make_llama_fixtures.py
"""
import os
import shutil

import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = "models/src/test/resources/llama"
assert transformers.__version__ == "5.17.0", transformers.__version__

COMMON = dict(vocab_size=48, hidden_size=32, intermediate_size=40, num_hidden_layers=2,
              num_attention_heads=4, max_position_embeddings=128)


def build(seed, **kw):
    torch.manual_seed(seed)
    cfg = LlamaConfig(**{**COMMON, **kw})
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.normal_(0, 0.3)
            else:
                p.normal_(0, 0.15)
    model.eval()          # no dropout anyway; generate() wants eval mode
    return model


def save_model(model, case):
    d = os.path.join(ROOT, case)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d)
    os.remove(os.path.join(d, "generation_config.json"))   # derived from config.json; not needed
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        return d, list(f.keys())


def forward_backward(model, names, ids, mask, labels):
    params = dict(model.named_parameters(remove_duplicate=False))
    model.zero_grad()
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    tensors = {
        "input.ids": ids, "input.labels": labels,
        "expected.logits": out.logits.detach().float().contiguous(),
        "expected.loss": out.loss.detach().reshape(1).float(),
    }
    if mask is not None:
        tensors["input.attention_mask"] = mask
    for n in names:
        tensors["grad." + n] = params[n].grad.detach().clone().contiguous()
    return tensors


def case(name, model, ids, mask, labels, extra=None):
    d, names = save_model(model, name)
    tensors = forward_backward(model, names, ids, mask, labels)
    if extra:
        tensors.update(extra)
    save_file(tensors, os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
    print(f"{name}: loss {tensors['expected.loss'].item():.6f}, {len(names)} parameters, "
          f"{sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


def greedy_fixture(model):
    """Greedy generate() outputs: one prompt, and a left-padded batch with an EOS stop in row 0.

    Prompts are redrawn until every greedy step wins by a clear margin (see check_margins)."""
    for attempt in range(50):
        try:
            return try_greedy(model, torch.Generator().manual_seed(100 + attempt))
        except (AssertionError, StopIteration):
            continue
    raise RuntimeError("no prompt with clear greedy margins")


def try_greedy(model, g):
    N = 8
    model.generation_config.eos_token_id = None
    single = torch.randint(3, COMMON["vocab_size"], (1, 5), generator=g)
    out_single = model.generate(single, attention_mask=torch.ones_like(single), do_sample=False, max_new_tokens=N,
                                pad_token_id=0)
    check_margins(model, out_single, torch.ones_like(out_single))

    prompts = [torch.randint(3, COMMON["vocab_size"], (n,), generator=g) for n in (6, 3)]
    P = max(len(p) for p in prompts)
    batch = torch.zeros(len(prompts), P, dtype=torch.long)
    amask = torch.zeros(len(prompts), P, dtype=torch.long)
    for r, p in enumerate(prompts):
        batch[r, P - len(p):] = p
        amask[r, P - len(p):] = 1
    free = model.generate(batch, attention_mask=amask, do_sample=False, max_new_tokens=N, pad_token_id=0)
    # An EOS that row 0 emits mid-way and row 1 never does: row 0 must stop there.
    row0, row1 = free[0, P:].tolist(), free[1, P:].tolist()
    eos = next(t for i, t in enumerate(row0) if 1 <= i < N - 2 and t not in row0[:i] and t not in row1)
    out_batch = model.generate(batch, attention_mask=amask, do_sample=False, max_new_tokens=N, pad_token_id=0,
                               eos_token_id=eos)
    full_mask = torch.cat([amask, torch.ones(len(prompts), N, dtype=torch.long)], 1)
    check_margins(model, free, full_mask)
    assert out_batch[0, P:].tolist().index(eos) < N - 1
    print(f"  generate: single {out_single[0, 5:].tolist()}, batch eos {eos}: {out_batch[:, P:].tolist()}")
    return {
        "gen.single.input_ids": single, "gen.single.output_ids": out_single,
        "gen.batch.input_ids": batch, "gen.batch.attention_mask": amask, "gen.batch.output_ids": out_batch,
        "gen.batch.eos_token_id": torch.tensor([eos]), "gen.max_new_tokens": torch.tensor([N]),
    }


def check_margins(model, seq, mask):
    """The argmax at every generated step must win by a margin float32 noise cannot flip."""
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = model(input_ids=seq, attention_mask=mask, position_ids=pos).logits
    top2 = logits.topk(2, dim=-1).values
    margin = (top2[..., 0] - top2[..., 1])[:, -9:-1].min().item()
    assert margin > 1e-3, f"greedy margin {margin} too small: pick another seed"


def main():
    g = torch.Generator().manual_seed(7)
    B, T, V = 2, 7, COMMON["vocab_size"]

    m = build(11, num_key_value_heads=2)
    ids = torch.randint(0, V, (B, T), generator=g)
    case("gqa_untied", m, ids, None, ids.clone())

    m = build(12, num_key_value_heads=4, tie_word_embeddings=True, pad_token_id=0)
    ids = torch.randint(0, V, (B, T), generator=g)
    ids[0, 2] = 0
    ids[1, 5] = 0
    case("mha_tied", m, ids, None, ids.clone())

    m = build(13, num_key_value_heads=2, attention_bias=True, mlp_bias=True, rms_norm_eps=1e-5, pad_token_id=0,
              rope_parameters={"rope_type": "default", "rope_theta": 500000.0})
    ids = torch.randint(3, V, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 4:] = 0
    ids[1, 4:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    case("right_padding", m, ids, mask, labels, greedy_fixture(m))

    m = build(14, num_key_value_heads=1, head_dim=16)
    B3 = 3
    ids = torch.randint(0, V, (B3, T), generator=g)
    labels = ids.clone()
    labels[0, :3] = -100
    labels[1, 1::2] = -100
    labels[2, -1] = -100
    case("ignored_labels", m, ids, None, labels)


if __name__ == "__main__":
    main()
