"""By-hand check: adapters written by our LoraModel.save load in PEFT with the same logits, and the
models our merge writes (as `aspo merge` does) load in transformers with them (CI has no Python,
so this is run by hand; see LoraRoundTripExport).

    mvn -B -q -o test -pl models -am -Dtest=LoraRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \\
        -Dlora.roundtrip.out=/tmp/lora-roundtrip
    /work/venv-fixtures/bin/python models/src/test/python/check_lora_roundtrip.py /tmp/lora-roundtrip

For every <name>/ (our adapter; its base_model_name_or_path is the base model's folder) next to
<name>.merged/ and <name>.java_logits.safetensors (inputs and our logits): loads the base with
from_pretrained and the adapter with PeftModel.from_pretrained(base, <name>), requires that PEFT
and transformers warn about nothing (a missing or unexpected adapter key is a warning in PEFT),
and compares the logits (max abs <= 1e-4); then loads <name>.merged with from_pretrained (no
missing or unexpected tensor) and compares its logits too. Exits non-zero on any failure.
"""
import json
import logging
import os
import sys
import warnings

import peft
import torch
import transformers
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoConfig, LlamaForCausalLM, LlavaForConditionalGeneration

TOL = 1e-4
CLASSES = {"llava": LlavaForConditionalGeneration, "llama": LlamaForCausalLM}


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def logits_of(model, data):
    with torch.no_grad():
        return model(input_ids=data["input_ids"], attention_mask=data.get("attention_mask"),
                     **({"pixel_values": data["pixel_values"]} if "pixel_values" in data else {})).logits


def main(root):
    print(f"transformers {transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}")
    transformers.logging.set_verbosity_warning()
    handler = Collect()
    transformers.logging.get_logger().addHandler(handler)
    names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)) and not n.endswith(".merged"))
    if not names:
        sys.exit(f"{root}: no adapters")
    failures = 0
    for name in names:
        d = os.path.join(root, name)
        with open(os.path.join(d, "adapter_config.json")) as f:
            base_dir = json.load(f)["base_model_name_or_path"]
        cls = CLASSES[AutoConfig.from_pretrained(base_dir).model_type]
        data = load_file(os.path.join(root, name + ".java_logits.safetensors"))
        handler.records.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = PeftModel.from_pretrained(cls.from_pretrained(base_dir), d).eval()
        problems = list(handler.records) + [str(w.message) for w in caught]
        diff = (logits_of(model, data) - data["java.logits"]).abs().max().item()
        merged, info = cls.from_pretrained(os.path.join(root, name + ".merged"), output_loading_info=True)
        missing = {k: v for k, v in info.items() if v}
        merged_diff = (logits_of(merged.eval(), data) - data["java.logits"]).abs().max().item()
        ok = diff <= TOL and merged_diff <= TOL and not problems and not missing
        failures += not ok
        layers = sum(1 for n, _ in model.named_modules() if n.endswith(".lora_A"))
        print(f"{'ok  ' if ok else 'FAIL'} {name:20s} PEFT: {layers} adapted layers, max |logits - java| {diff:.2e};"
              f" merged: max |logits - java| {merged_diff:.2e}"
              + (f" warnings {problems}" if problems else "") + (f" merged loading problems {missing}" if missing else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/lora-roundtrip")
