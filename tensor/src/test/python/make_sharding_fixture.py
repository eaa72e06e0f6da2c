"""Writes sharding_reference.json (tensor/src/test/resources/safetensors/): how transformers splits a
checkpoint into shards, for ShardPlanTest, ShardSizeTest and SafeTensorsIndexTest.

Run from the repository root with a venv holding torch and transformers (made with transformers
5.18.0, huggingface_hub 1.33.0):

    /work/venv-fixtures/bin/python tensor/src/test/python/make_sharding_fixture.py

The outputs are committed; CI does not run this.

sizes    huggingface_hub's parse_size_to_int for max_shard_size texts.
cases    tensors (name, bytes) in a scrambled order and a limit; "shards" is what save_pretrained
         does with them: transformers orders a loaded model's state dict by dot_natural_key
         (revert_weight_conversion), then split_torch_state_dict_into_shards deals them out.
         The tensors are uint8 tensors of that many bytes (each its own storage; no empty
         tensors, whose shared null storage huggingface_hub groups together).
index    a weight map with names that need escaping and code-point ordering, and the exact text
         save_pretrained writes for it: json.dumps(index, indent=2, sort_keys=True) + "\n".
"""
import json
import os
import random

import huggingface_hub
import torch
import transformers
from huggingface_hub import split_torch_state_dict_into_shards
from huggingface_hub.serialization._base import parse_size_to_int
from transformers.core_model_loading import dot_natural_key

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "safetensors", "sharding_reference.json")


def split(tensors, limit):
    state = dict(sorted(((n, torch.empty(b, dtype=torch.uint8)) for n, b in tensors), key=lambda kv: dot_natural_key(kv[0])))
    s = split_torch_state_dict_into_shards(state, filename_pattern="model{suffix}.safetensors", max_shard_size=limit)
    return list(s.filename_to_tensors.values()), s.metadata["total_size"]


def main():
    rng = random.Random(5)
    cases = []
    tricky = [("layers.10.w", 40), ("layers.2.w", 40), ("layers.2.b", 8), ("layer11", 16), ("layer2", 16), ("a.b", 4),
              ("a", 4), ("A", 4), ("_x", 4), ("x1", 12), ("x01", 12), ("\u00e9", 8), ("\U0001F600", 8), ("\uffff", 8),
              ("m.0", 4), ("m.00", 4), ("m..x", 4), ("m.x9y", 4), ("big", 200), ("edge", 64)]
    for limit in [64, 100, 1000, 10, 39, 40]:
        shuffled = tricky[:]
        rng.shuffle(shuffled)
        shards, total = split(shuffled, limit)
        cases.append({"limit": limit, "tensors": shuffled, "shards": shards, "total_size": total})
    parts = ["self_attn.q_proj", "self_attn.k_proj", "mlp.up_proj", "input_layernorm", "post_attention_layernorm"]
    for _ in range(8):
        names = [f"model.layers.{l}.{p}.{w}" for l in range(rng.randint(1, 6)) for p in parts for w in ("weight", "bias")]
        names += ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight"]
        tensors = [(n, rng.choice([4, 8, 64, 128, 500, 1024, 4096])) for n in names]
        rng.shuffle(tensors)
        limit = rng.choice([100, 500, 1024, 2000, 5000, 10000])
        shards, total = split(tensors, limit)
        cases.append({"limit": limit, "tensors": tensors, "shards": shards, "total_size": total})

    texts = ["5GB", "500MB", "0.5GB", "1.5KB", "5gb", " 7 MB ", "2TB", "0.1GB", "1.0000001MB", "12.KB", ".5KB"]
    sizes = {t: parse_size_to_int(t) for t in texts}

    weight_map = {"z": "model-00002-of-00002.safetensors", "a\"q\\b": "model-00001-of-00002.safetensors",
                  "tab\tnew\nline\u0001\u007f": "model-00001-of-00002.safetensors", "\u00e9t\u00e9": "model-00002-of-00002.safetensors",
                  "\U0001F600": "model-00002-of-00002.safetensors", "\uffff": "model-00001-of-00002.safetensors",
                  "B": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    index = {"metadata": {"total_parameters": 123, "total_size": 492}, "weight_map": weight_map}
    text = json.dumps(index, indent=2, sort_keys=True) + "\n"

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"versions": {"transformers": transformers.__version__, "huggingface_hub": huggingface_hub.__version__},
                   "sizes": sizes, "cases": cases,
                   "index": {"metadata": index["metadata"], "weight_map": list(weight_map.items()), "text": text}},
                  f, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
