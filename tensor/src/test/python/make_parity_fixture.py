"""Makes the PyTorch parity fixture for BlockParityTest.

A small network that exercises the ops the models are built from, written with plain torch
functions so that every step has a counterpart in dev.aspo.tensor.ops:

    ids -> Embedding -> LayerNorm -> q/k/v Linear -> RoPE -> causal GQA attention (+ key padding)
        -> out Linear -> residual -> RMSNorm -> SwiGLU MLP -> residual
        -> LayerNorm -> Linear -> GELU -> Linear (logits) -> cross-entropy (ignore_index=-100)

It writes parameters, inputs, logits, loss and the gradient of the loss with respect to every
parameter into one safetensors file. Run from the repository root:

    python tensor/src/test/python/make_parity_fixture.py

Needs torch (2.13, CPU) and safetensors; only to regenerate the fixture, never in CI.
"""
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = "tensor/src/test/resources/parity/block.safetensors"
B, T, C, V = 2, 6, 16, 11
HQ, HKV, D = 4, 2, 4
FF, HID = 24, 20
THETA, LN_EPS, RMS_EPS = 10000.0, 1e-5, 1e-6

g = torch.Generator().manual_seed(2505)


def rand(*shape, std=0.5):
    return (torch.randn(*shape, generator=g) * std).requires_grad_(True)


params = {
    "embed": rand(V, C, std=1.0),
    "ln1.weight": (1 + rand(C, std=0.1)).detach().requires_grad_(True),
    "ln1.bias": rand(C, std=0.1),
    "q.weight": rand(HQ * D, C), "q.bias": rand(HQ * D, std=0.1),
    "k.weight": rand(HKV * D, C), "v.weight": rand(HKV * D, C),
    "o.weight": rand(C, HQ * D),
    "rms.weight": (1 + rand(C, std=0.1)).detach().requires_grad_(True),
    "gate.weight": rand(FF, C), "up.weight": rand(FF, C), "down.weight": rand(C, FF),
    "ln2.weight": (1 + rand(C, std=0.1)).detach().requires_grad_(True),
    "ln2.bias": rand(C, std=0.1),
    "fc1.weight": rand(HID, C), "fc1.bias": rand(HID, std=0.1),
    "fc2.weight": rand(V, HID), "fc2.bias": rand(V, std=0.1),
}
ids = torch.randint(0, V, (B, T), generator=g)
key_mask = torch.ones(B, T)
key_mask[1, 4:] = 0                      # the second sequence is padded on the right
targets = torch.randint(0, V, (B, T), generator=g)
targets[0, 0] = -100                     # an ignored position
targets[1, 4:] = -100                    # padding is ignored
positions = torch.arange(T).expand(B, T)


def rope(x):                             # x [B, T, H, D], Llama's rotate-half form
    inv_freq = 1.0 / (THETA ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = positions[..., None].float() * inv_freq          # [B, T, D/2]
    emb = torch.cat([ang, ang], dim=-1)[:, :, None, :]     # [B, T, 1, D]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * emb.cos() + torch.cat([-x2, x1], dim=-1) * emb.sin()


def forward(p):
    x = p["embed"][ids]                                                  # [B, T, C]
    h = F.layer_norm(x, (C,), p["ln1.weight"], p["ln1.bias"], LN_EPS)
    q = rope((h @ p["q.weight"].T + p["q.bias"]).view(B, T, HQ, D)).transpose(1, 2)
    k = rope((h @ p["k.weight"].T).view(B, T, HKV, D)).transpose(1, 2)
    v = (h @ p["v.weight"].T).view(B, T, HKV, D).transpose(1, 2)
    k = k.repeat_interleave(HQ // HKV, dim=1)
    v = v.repeat_interleave(HQ // HKV, dim=1)
    scores = q @ k.transpose(-1, -2) / D ** 0.5                          # [B, HQ, T, T]
    visible = torch.ones(T, T).tril().bool()[None, None] & key_mask.bool()[:, None, None, :]
    scores = scores.masked_fill(~visible, float("-inf"))
    att = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, HQ * D)
    x = x + att @ p["o.weight"].T
    r = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * p["rms.weight"]
    x = x + (F.silu(r @ p["gate.weight"].T) * (r @ p["up.weight"].T)) @ p["down.weight"].T
    h = F.layer_norm(x, (C,), p["ln2.weight"], p["ln2.bias"], LN_EPS)
    h = F.gelu(h @ p["fc1.weight"].T + p["fc1.bias"])
    logits = h @ p["fc2.weight"].T + p["fc2.bias"]                      # [B, T, V]
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    return logits, loss


logits, loss = forward(params)
loss.backward()

tensors = {name: t.detach().contiguous() for name, t in params.items()}
tensors.update({"grad." + name: t.grad.contiguous() for name, t in params.items()})
tensors.update({
    "input.ids": ids.to(torch.int64), "input.targets": targets.to(torch.int64),
    "input.key_mask": key_mask, "expected.logits": logits.detach(),
    "expected.loss": loss.detach().reshape(1),
})
save_file(tensors, OUT, metadata={"made_by": "tensor/src/test/python/make_parity_fixture.py",
                                  "torch": torch.__version__})
print(f"wrote {OUT}: loss {loss.item():.6f}")
