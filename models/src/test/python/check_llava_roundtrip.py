"""By-hand check: directories written by our LlavaForConditionalGeneration.save load in
transformers with the same logits (CI has no Python, so this is run by hand; see
LlavaRoundTripExport).

    mvn -B -q -o test -pl models -am -Dtest=LlavaRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \
        -Dllava.roundtrip.out=/tmp/llava-roundtrip
    /work/venv/bin/python models/src/test/python/check_llava_roundtrip.py /tmp/llava-roundtrip

For every <name>/ (our save output) next to <name>.java_logits.safetensors (inputs and our
logits), loads the directory with LlavaForConditionalGeneration.from_pretrained, requires that no
tensor is missing, unexpected or mismatched and that transformers logs no warning while loading,
runs the same inputs and compares the logits (max abs <= 1e-4). Exits non-zero on any failure.
"""
import logging
import os
import sys

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoConfig, LlavaForConditionalGeneration

TOL = 1e-4


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def main(root):
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    transformers.logging.set_verbosity_warning()
    handler = Collect()
    transformers.logging.get_logger().addHandler(handler)
    failures = 0
    names = sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n)))
    if not names:
        sys.exit(f"{root}: no checkpoints")
    for name in names:
        d = os.path.join(root, name)
        handler.records.clear()
        cfg = AutoConfig.from_pretrained(d)
        model, info = LlavaForConditionalGeneration.from_pretrained(d, output_loading_info=True)
        model.eval()
        problems = {k: v for k, v in info.items() if v}
        warnings = list(handler.records)
        data = load_file(os.path.join(root, name + ".java_logits.safetensors"))
        with torch.no_grad():
            logits = model(input_ids=data["input_ids"], attention_mask=data.get("attention_mask"),
                           pixel_values=data["pixel_values"]).logits
        diff = (logits - data["java.logits"]).abs().max().item()
        ok = diff <= TOL and not problems and not warnings and cfg.model_type == "llava"
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:18s} max |logits - java| {diff:.2e}  tied={cfg.tie_word_embeddings} "
              f"layer={cfg.vision_feature_layer} strategy={cfg.vision_feature_select_strategy} "
              f"kv_heads={cfg.text_config.num_key_value_heads}"
              + (f" loading problems {problems}" if problems else "") + (f" warnings {warnings}" if warnings else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/llava-roundtrip")
