"""Writes tensor/src/test/resources/parity/rope_hf.txt: RoPE outputs computed the way HF
transformers' LlamaRotaryEmbedding (default rope type) and apply_rotary_pos_emb do, in float32.

The input is a formula both sides can evaluate exactly, x[i] = ((37 i) mod 101 - 50) / 25 in
float32, laid out [B, T, H, D] as the Java op takes it. Positions include large and
non-contiguous values, where forming the angle in float32 (as HF does) matters.

Run: /work/venv/bin/python tensor/src/test/python/make_rope_fixture.py
"""
import pathlib

import torch

B, T, H, D = 2, 3, 2, 64
POSITIONS = [[0, 1, 2], [5, 4095, 8191]]
THETAS = [10000.0, 500000.0]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def hf_rope(x_bhtd, position_ids, theta):
    dim = x_bhtd.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded @ position_ids_expanded).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)
    return x_bhtd * cos + rotate_half(x_bhtd) * sin


def main():
    i = torch.arange(B * T * H * D, dtype=torch.int64)
    x = (((i * 37) % 101 - 50).float() / 25.0).reshape(B, T, H, D)
    pos = torch.tensor(POSITIONS, dtype=torch.int64)
    lines = [f"# B T H D = {B} {T} {H} {D}; positions " + " ".join(str(p) for row in POSITIONS for p in row)]
    for theta in THETAS:
        y = hf_rope(x.transpose(1, 2), pos, theta).transpose(1, 2).contiguous()
        lines.append(f"theta {theta:g}")
        lines.extend(f"{v:.9g}" for v in y.flatten().tolist())
    out = pathlib.Path(__file__).resolve().parents[1] / "resources" / "parity" / "rope_hf.txt"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
