"""Makes the LoRA parity fixtures for LoraParityTest: adapters made and saved by PEFT on the tiny
LLaVA and Llama fixture models, and what the adapted models compute.

Each case is an adapter directory as PEFT's save_pretrained writes it, plus the expectations:

    models/src/test/resources/lora/<case>/adapter_config.json        PEFT save_pretrained
    models/src/test/resources/lora/<case>/adapter_model.safetensors  PEFT save_pretrained
    models/src/test/resources/lora/<case>/expected.safetensors       what PEFT computed:
        logits [B,T,V], loss [1]   the adapted model on the base case's inputs (model.eval(): no dropout)
        grad.<name>                d loss / d adapter tensor, for every tensor of adapter_model.safetensors
                                   (zeros where torch has none: vision layers after the feature layer)
        merged.<name>              merge_and_unload()'s weight for every base tensor the merge changed,
                                   under the base checkpoint's (save_pretrained) name

The base models and inputs are the LLaVA and Llama parity fixtures (make_llava_fixtures.py,
make_llama_fixtures.py): the llava cases read llava/<base>/input.safetensors, the llama case
llama/<base>/expected.safetensors (input.ids, input.labels). The loss is transformers' causal-LM
loss with those labels. LoRA weights: lora_A as PEFT initialises it (kaiming-uniform), lora_B
drawn N(0, 0.2^2) instead of zeros so that the adapter changes the outputs.

Cases:
    llava_lists          base llava/gqa_untied; target_modules a list (q_proj, v_proj, o_proj,
                         down_proj, linear_1, linear_2, lm_head: suffix matches, so q_proj/v_proj of
                         the vision tower too, with and without gradient), r 4, lora_alpha 8,
                         lora_dropout 0.1, task_type CAUSAL_LM
    llava_regex_rslora   base llava/tied_full_layer1; target_modules a regular expression over the
                         language model's q/k/gate/up projections and the projector's linear_2,
                         exclude_modules ["layers.1.mlp.up_proj"], use_rslora, r 2, lora_alpha 4
    llava_4x_names       llava_lists' adapter with its tensors named as PEFT named them under
                         transformers 4.x (base_model.model.language_model.model.layers...,
                         ...vision_tower.vision_model.encoder..., ...language_model.lm_head...):
                         no expected.safetensors, it must compute what llava_lists does. (PEFT 0.21
                         on transformers 5.18 maps only some of these names: loading this directory
                         it warns that the projector's and lm_head's adapter keys are missing.)
    llama_all_linear     base llama/gqa_untied; target_modules "all-linear" (PEFT records the
                         expanded list of layer names, lm_head left out), r 4, lora_alpha 16

Every adapter PEFT saved is loaded back with PeftModel.from_pretrained(base, dir) and must give
the same logits; merge_and_unload() must give them within 1e-5.

A targeted lm_head makes PEFT save its base weight too (lm_head.base_layer.weight; PEFT's
save_embedding_layers "auto"), as llava_lists shows.

The reverse direction (an adapter written by our LoraModel.save loads in PEFT with the same
logits, and the model `aspo merge` writes loads in transformers with the same logits) is checked
by hand, as CI has no Python; see LoraRoundTripExport:

    mvn -B -q -o test -pl models -am -Dtest=LoraRoundTripExport -Dsurefire.failIfNoSpecifiedTests=false \\
        -Dlora.roundtrip.out=/tmp/lora-roundtrip
    /work/venv-fixtures/bin/python models/src/test/python/check_lora_roundtrip.py /tmp/lora-roundtrip

Run from the repository root with a venv holding torch 2.13 CPU, transformers 5.18.0 and peft 0.21.0
(pip install peft from the local index); the script rewrites every fixture byte for byte:

    /work/venv-fixtures/bin/python models/src/test/python/make_lora_fixtures.py
"""
import os
import shutil
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    # PEFT keeps target_modules in a set, which adapter_config.json lists in the order of Python's
    # string hashes: fix the hash so that the files come out the same on every run.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import peft
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import LlamaForCausalLM, LlavaForConditionalGeneration

ROOT = "models/src/test/resources/lora"
LLAVA = "models/src/test/resources/llava"
LLAMA = "models/src/test/resources/llama"
assert transformers.__version__ == "5.18.0", transformers.__version__
assert peft.__version__ == "0.21.0", peft.__version__

# In-memory names (5.x) -> the names save_pretrained writes, which are our parameter names.
LLAVA_SAVE_RENAMES = [("model.language_model.", "language_model.model."), ("lm_head.", "language_model.lm_head."),
                      ("model.vision_tower.", "vision_tower."), ("model.multi_modal_projector.", "multi_modal_projector.")]
# PEFT adapter keys under transformers 5.x -> under 4.x (before the 4.52 LlavaModel refactor).
PEFT_4X_RENAMES = [("base_model.model.model.language_model.", "base_model.model.language_model.model."),
                   ("base_model.model.lm_head.", "base_model.model.language_model.lm_head."),
                   ("base_model.model.model.vision_tower.", "base_model.model.vision_tower.vision_model."),
                   ("base_model.model.model.multi_modal_projector.", "base_model.model.multi_modal_projector.")]


def rename(name, table):
    for a, b in table:
        if name.startswith(a):
            return b + name[len(a):]
    return name


def llava_base(case):
    d = os.path.join(LLAVA, case)
    model = LlavaForConditionalGeneration.from_pretrained(d).eval()
    inputs = load_file(os.path.join(d, "input.safetensors"))
    if "attention_mask" not in inputs:
        inputs["attention_mask"] = None
    return d, model, inputs, lambda n: rename(n, LLAVA_SAVE_RENAMES)


def llama_base(case):
    d = os.path.join(LLAMA, case)
    model = LlamaForCausalLM.from_pretrained(d).eval()
    e = load_file(os.path.join(d, "expected.safetensors"))
    inputs = {"input_ids": e["input.ids"], "labels": e["input.labels"], "attention_mask": e.get("input.attention_mask")}
    return d, model, inputs, lambda n: n


def adapter_names(d):
    """Every tensor of the adapter file: lora_A/lora_B, and <module>.base_layer.weight for a targeted lm_head."""
    with safe_open(os.path.join(d, "adapter_model.safetensors"), "pt") as f:
        return sorted(f.keys())


def logits_of(model, inputs):
    with torch.no_grad():
        return model(**{k: v for k, v in inputs.items() if k != "labels"}).logits


def case(name, base, lora_config, seed):
    base_dir, model, inputs, save_name = base
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(seed)
    model = get_peft_model(model, lora_config)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.2)
    model.eval()
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d)
    os.remove(os.path.join(d, "README.md"))     # PEFT's model-card template: nothing the tests read
    names = [n for n in adapter_names(d) if ".lora_" in n]

    model.zero_grad()
    out = model(**inputs)
    out.loss.backward()
    tensors = {"logits": out.logits.detach().float().contiguous(), "loss": out.loss.detach().reshape(1).float()}
    by_file = {}
    for n, p in model.named_parameters():
        if "lora_" in n:
            by_file[n.replace(".default.", ".")] = p
    assert sorted(by_file) == names, (sorted(by_file), names)
    for n in names:
        g = by_file[n].grad
        tensors["grad." + n] = (torch.zeros_like(by_file[n]) if g is None else g.detach().clone()).contiguous()
    logits = out.logits.detach()

    # the adapter as PEFT loads it: the same logits
    fresh = type(model.get_base_model()).from_pretrained(base_dir).eval()
    loaded = PeftModel.from_pretrained(fresh, d).eval()
    assert torch.equal(logits_of(loaded, inputs), logits), (name, (logits_of(loaded, inputs) - logits).abs().max())

    merged = loaded.merge_and_unload()
    changed = 0
    for n, p in merged.named_parameters():
        if not torch.equal(p.detach(), before[n]):
            tensors["merged." + save_name(n)] = p.detach().clone().contiguous()
            changed += 1
    assert changed == len(names) // 2, (changed, len(names))
    diff = (logits_of(merged, inputs) - logits).abs().max().item()
    assert diff < 1e-5, (name, diff)

    save_file(tensors, os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: loss {tensors['loss'].item():.6f}, {len(names)} adapter tensors, merged logits max diff {diff:.1e},"
          f" {size} bytes")
    return d, logits, inputs


def main():
    os.makedirs(ROOT, exist_ok=True)
    lists = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, task_type="CAUSAL_LM",
                       target_modules=["q_proj", "v_proj", "o_proj", "down_proj", "linear_1", "linear_2", "lm_head"])
    d, logits, inputs = case("llava_lists", llava_base("gqa_untied"), lists, 1)

    regex = LoraConfig(r=2, lora_alpha=4, use_rslora=True, exclude_modules=["layers.1.mlp.up_proj"],
                       target_modules=r".*language_model.*\.(q_proj|k_proj|gate_proj|up_proj)|.*multi_modal_projector\.linear_2")
    case("llava_regex_rslora", llava_base("tied_full_layer1"), regex, 2)

    old = os.path.join(ROOT, "llava_4x_names")
    shutil.rmtree(old, ignore_errors=True)
    os.makedirs(old)
    shutil.copy(os.path.join(d, "adapter_config.json"), old)
    sd = load_file(os.path.join(d, "adapter_model.safetensors"))
    save_file({rename(k, PEFT_4X_RENAMES): v for k, v in sd.items()}, os.path.join(old, "adapter_model.safetensors"),
              metadata={"format": "pt"})
    print(f"llava_4x_names: {len(sd)} adapter tensors renamed")

    case("llama_all_linear", llama_base("gqa_untied"), LoraConfig(r=4, lora_alpha=16, target_modules="all-linear",
                                                                  task_type="CAUSAL_LM"), 3)


if __name__ == "__main__":
    main()
