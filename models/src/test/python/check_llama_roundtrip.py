"""By-hand check: checkpoints written by our LlamaForCausalLM.save load in transformers with the
same logits (CI has no Python, so this is run by hand; see LlamaRoundTripExport).

    mvn -B -q -o test -pl models -am -Dtest=LlamaRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \
        -Dllama.roundtrip.out=/tmp/llama-roundtrip
    /work/venv/bin/python models/src/test/python/check_llama_roundtrip.py /tmp/llama-roundtrip

For every <name>/ (our save output) next to <name>.java_logits.safetensors (inputs and our
logits), loads the directory with LlamaForCausalLM.from_pretrained, requires that no weight is
missing, unexpected or mismatched, runs the same inputs and compares the logits (max abs <= 1e-4).
Exits non-zero on any failure.
"""
import os
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoConfig, LlamaForCausalLM

TOL = 1e-4


def main(root):
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    failures = 0
    names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    if not names:
        sys.exit(f"{root}: no checkpoints")
    for name in names:
        d = os.path.join(root, name)
        cfg = AutoConfig.from_pretrained(d)
        model, info = LlamaForCausalLM.from_pretrained(d, output_loading_info=True)
        model.eval()
        problems = {k: v for k, v in info.items() if v}
        data = load_file(os.path.join(root, name + ".java_logits.safetensors"))
        with torch.no_grad():
            logits = model(input_ids=data["input.ids"], attention_mask=data.get("input.attention_mask")).logits
        diff = (logits - data["java.logits"]).abs().max().item()
        ok = diff <= TOL and not problems and cfg.model_type == "llama"
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:15s} max |logits - java| {diff:.2e}  tied={cfg.tie_word_embeddings} "
              f"kv_heads={cfg.num_key_value_heads} head_dim={cfg.head_dim} theta={cfg.rope_parameters['rope_theta']}"
              + (f" loading problems {problems}" if problems else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/llama-roundtrip")
