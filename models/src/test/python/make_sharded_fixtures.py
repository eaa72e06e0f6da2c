"""Makes the sharded-checkpoint fixtures for ShardedCheckpointTest.

transformers reloads the Llama fixture gqa_untied (make_llama_fixtures.py) and saves it again with
save_pretrained(max_shard_size=...), which splits the state dict with huggingface_hub's
split_torch_state_dict_into_shards: tensors in state-dict order, a new shard when the next tensor
would take the current one past the limit, and a tensor larger than the limit in a shard of its
own (listed before the shard being filled).

    models/src/test/resources/llama/gqa_untied_sharded/config.json                       save_pretrained
    models/src/test/resources/llama/gqa_untied_sharded/model-000NN-of-000MM.safetensors  save_pretrained, "5KB"
    models/src/test/resources/llama/gqa_untied_sharded/model.safetensors.index.json      save_pretrained, "5KB"
    models/src/test/resources/llama/sharding/gqa_untied-<limit>.index.json               the index alone, for
                                                                                          the other limits

"5KB" (5000 bytes) puts the embedding, the head and the MLP matrices (5120-6144 bytes each) in
shards of their own and packs the attention matrices and norms; "12KB" and "30KB" pack only.
The sharded copy must hold exactly the tensors of the single file, and reload to the same logits.

Run from the repository root with a venv holding torch and transformers (made with 5.18.0):

    /work/venv-fixtures/bin/python models/src/test/python/make_sharded_fixtures.py
"""
import json
import os
import shutil
import tempfile

import torch
import transformers
from safetensors import safe_open
from transformers import LlamaForCausalLM

SOURCE = "models/src/test/resources/llama/gqa_untied"
SHARDED = "models/src/test/resources/llama/gqa_untied_sharded"
INDEXES = "models/src/test/resources/llama/sharding"
FIXTURE_LIMIT = "5KB"
INDEX_LIMITS = ["12KB", "30KB"]


def tensors(d):
    index = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    out = {}
    for f in files:
        with safe_open(os.path.join(d, f), "pt") as st:
            for k in st.keys():
                assert k not in out, k
                out[k] = st.get_tensor(k)
    return out


def main():
    model = LlamaForCausalLM.from_pretrained(SOURCE)
    model.eval()
    shutil.rmtree(SHARDED, ignore_errors=True)
    model.save_pretrained(SHARDED, max_shard_size=FIXTURE_LIMIT)
    os.remove(os.path.join(SHARDED, "generation_config.json"))   # derived from config.json; not needed
    assert not os.path.exists(os.path.join(SHARDED, "model.safetensors"))

    a, b = tensors(SOURCE), tensors(SHARDED)
    assert a.keys() == b.keys(), (a.keys() ^ b.keys())
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ids = torch.tensor([[1, 5, 7, 2, 9, 4, 11]])
    reloaded = LlamaForCausalLM.from_pretrained(SHARDED)
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, reloaded(input_ids=ids).logits)

    os.makedirs(INDEXES, exist_ok=True)
    for limit in INDEX_LIMITS:
        with tempfile.TemporaryDirectory() as t:
            model.save_pretrained(t, max_shard_size=limit)
            shutil.copy(os.path.join(t, "model.safetensors.index.json"),
                        os.path.join(INDEXES, f"gqa_untied-{limit}.index.json"))

    size = sum(os.path.getsize(os.path.join(SHARDED, f)) for f in os.listdir(SHARDED))
    shards = len([f for f in os.listdir(SHARDED) if f.startswith("model-")])
    print(f"transformers {transformers.__version__}: {shards} shards, {size} bytes at {FIXTURE_LIMIT}")


if __name__ == "__main__":
    main()
