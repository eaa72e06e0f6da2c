"""Makes the 16-bit weight fixtures for HalfPrecisionParityTest.

transformers computing in float32 with the weight matrices rounded to bfloat16 or float16: every
parameter of rank 2 or more (linear and embedding weights, the vision tower's patch convolution
and position table) goes through p.to(dtype).to(float32), which is what `--dtype bfloat16` holds in
memory; vectors and scalars (norm weights, biases, CLIP's class embedding) stay float32, as they do
in the engine. (from_pretrained(torch_dtype=torch.bfloat16) would round those too and compute in
bfloat16, so the matrices are rounded by hand on a float32 model.)

Cases: the gqa_untied fixtures of make_llama_fixtures.py and make_llava_fixtures.py, on their own
inputs (llama: expected.safetensors' input.ids; llava: input.safetensors without the labels).
Written next to them:

    models/src/test/resources/llama/gqa_untied/expected_16bit.safetensors
    models/src/test/resources/llava/gqa_untied/expected_16bit.safetensors
        logits.bfloat16, logits.float16   [B, T, V] F32

Run from the repository root with a venv holding torch and transformers (made with torch 2.13 CPU,
transformers 5.18):

    /work/venv-fixtures/bin/python models/src/test/python/make_16bit_fixtures.py
"""
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import LlamaForCausalLM, LlavaForConditionalGeneration

ROOT = "models/src/test/resources"


def logits_with_rounded_matrices(model_class, d, inputs, dtype):
    model = model_class.from_pretrained(d, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(p.to(dtype).to(torch.float32))
        return model(**inputs).logits.contiguous()


def main():
    torch.manual_seed(0)
    llama = os.path.join(ROOT, "llama", "gqa_untied")
    expected = load_file(os.path.join(llama, "expected.safetensors"))
    llama_inputs = {"input_ids": expected["input.ids"]}
    llava = os.path.join(ROOT, "llava", "gqa_untied")
    llava_inputs = {k: v for k, v in load_file(os.path.join(llava, "input.safetensors")).items() if k != "labels"}
    for model_class, d, inputs in [(LlamaForCausalLM, llama, llama_inputs), (LlavaForConditionalGeneration, llava, llava_inputs)]:
        out = {}
        for name, dtype in [("bfloat16", torch.bfloat16), ("float16", torch.float16)]:
            out["logits." + name] = logits_with_rounded_matrices(model_class, d, inputs, dtype)
        save_file(out, os.path.join(d, "expected_16bit.safetensors"), metadata={"format": "pt"})
        print(d, {k: tuple(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
