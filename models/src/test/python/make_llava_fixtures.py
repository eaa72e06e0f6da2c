"""Makes the LLaVA parity fixtures for LlavaParityTest, LlavaGenerateParityTest and the CLI tests.

Tiny random LlavaForConditionalGeneration models built in transformers 5.17 from configs (no hub
access): a CLIPVisionConfig tower (image 32, patch 8 -> 16 patches, 3 layers) and a LlamaConfig
text model. Each case is a model directory

    models/src/test/resources/llava/<case>/config.json           save_pretrained (or the hub layout)
    models/src/test/resources/llava/<case>/model.safetensors     save_pretrained (or the hub layout)
    models/src/test/resources/llava/<case>/input.safetensors     `aspo forward/grad` input:
        input_ids [B,T] I64 (image tokens expanded), attention_mask [B,T] I64 (when the case pads),
        pixel_values [N_img,3,32,32] F32, labels [B,T] I64 (-100 ignored)
    models/src/test/resources/llava/<case>/expected.safetensors  what transformers computed:
        logits [B,T,V], loss [1], grad.<name> for every tensor of the 5.17 save layout
        (zeros where torch has no gradient: post_layernorm and vision layers after the feature layer)

Cases:
    gqa_untied        4 query / 2 kv heads, separate lm_head, vision_feature_layer -2, strategy
                      default, two rows with one image each, labels -100 on the image tokens
    tied_full_layer1  2/2 heads, tie_word_embeddings on the text config, vision_feature_layer 1
                      (a positive index), strategy full (class token kept: 17 features an image)
    hub_layout        as gqa_untied with other weights, stored the way llava-hf hub checkpoints
                      name tensors (vision_tower.vision_model.*, language_model.model.*,
                      language_model.lm_head.weight, multi_modal_projector.*, plus the
                      embeddings.position_ids buffer) with a 4.x-style config.json (torch_dtype,
                      ignore_index, top-level pad_token_id and vocab_size, image_token_index)
    padding_layers    vision_feature_layer [0, -2] (a list: features concatenated), no projector
                      bias, pad_token_id 0; row 0 holds two images and row 1 one image followed by
                      right padding (attention_mask 0, labels -100), labels -100 scattered
    generate          the greedy generate() fixture: the tokenizer of the tokenizer tests
                      (resources/tokenizer/llama_fallback.json, <image> = 589) as tokenizer.json,
                      a CLIP preprocessor_config.json (bicubic, shortest edge 32, crop 32); the
                      LLaVA-1.5 chat template applied to one user turn; the processor's input_ids
                      for resources/clip/images/rgb_45x37.png, greedy generate with 8 new tokens
                      (single prompt, and a left-padded batch of two prompts), the decoded
                      answer. Written to expected.safetensors (gen.*) and generate.json.

The 5.17 save layout is: vision_tower.<CLIPVisionModel names without vision_model.>,
multi_modal_projector.linear_{1,2}.*, language_model.model.*, language_model.lm_head.weight
(absent when tied). Every case is reloaded with from_pretrained, which must report no missing or
unexpected tensors and give the same logits.

Weights are drawn wider than transformers' init (which gives near-uniform logits and vanishing
gradients): matrices N(0, 1/fan_in), embeddings N(0, 0.3^2), norm weights around 1, biases around 0.

Run from the repository root with the project's venv (torch 2.13 CPU, transformers 5.17.0) and
Pillow (the generate case reads a PNG; the venv has none: Debian's python3-pil 9.4 was put on the
path by hand; the script rewrites every fixture byte for byte):

    PYTHONPATH=<a folder holding PIL> /work/venv/bin/python models/src/test/python/make_llava_fixtures.py
"""
import json
import os
import shutil
import tempfile

import torch
import transformers
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor,
                          PreTrainedTokenizerFast)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = "models/src/test/resources/llava"
TOKENIZER = "models/src/test/resources/tokenizer/llama_fallback.json"
IMAGE = "models/src/test/resources/clip/images/rgb_45x37.png"
assert transformers.__version__ == "5.17.0", transformers.__version__

VISION = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=3, num_attention_heads=2, image_size=32,
              patch_size=8, projection_dim=8)
TEXT = dict(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=128)
IMAGE_TOKEN = 63          # the last id, as llava-hf puts <image> at 32000 of 32064

# transformers' LLaVA-1.5 chat template (llava-hf/llava-1.5-*-hf chat_template.json, also the one of
# transformers' LlavaProcessor tests).
LLAVA_15_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}"
    "{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

# In-memory names (5.17) -> the names save_pretrained writes (5.17 reverses its load-time renaming).
SAVE_RENAMES = [("model.language_model.", "language_model.model."), ("lm_head.", "language_model.lm_head."),
                ("model.vision_tower.", "vision_tower."), ("model.multi_modal_projector.", "multi_modal_projector.")]

# The 5.17 save layout -> the llava-hf hub layout (transformers 4.3x-4.4x checkpoints).
HUB_RENAMES = [("vision_tower.", "vision_tower.vision_model.")]


def rename(name, table):
    for a, b in table:
        if name.startswith(a):
            return b + name[len(a):]
    raise ValueError(name)


def build(seed, text=None, vision=None, **llava):
    torch.manual_seed(seed)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(**{**VISION, **(vision or {})}),
                      text_config=LlamaConfig(**{**TEXT, **(text or {})}),
                      image_token_index=llava.pop("image_token_index", IMAGE_TOKEN), image_seq_length=16, **llava)
    model = LlavaForConditionalGeneration(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
            elif "norm" in name:                 # RMSNorm / LayerNorm weights (incl. pre_layrnorm)
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif "embed_tokens" in name or "class_embedding" in name or "position_embedding" in name:
                p.normal_(0, 0.3)
            else:
                p.normal_(0, p[0].numel() ** -0.5)
    model.eval()
    return model


def save_model(model, case):
    d = os.path.join(ROOT, case)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d)
    os.remove(os.path.join(d, "generation_config.json"))   # derived from config.json; not needed
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        return d, sorted(f.keys())


def features_per_image(cfg):
    n = (cfg.vision_config.image_size // cfg.vision_config.patch_size) ** 2
    return n if cfg.vision_feature_select_strategy == "default" else n + 1


def row(g, images, n_feat, text_before=2, text_between=2, text_after=4):
    """[bos, text..., (<image> x n_feat, text...) per image, text...] with ids in [3, 62]."""
    ids = [1] + torch.randint(3, IMAGE_TOKEN, (text_before,), generator=g).tolist()
    for i in range(images):
        ids += [IMAGE_TOKEN] * n_feat
        ids += torch.randint(3, IMAGE_TOKEN, (text_between if i + 1 < images else text_after,), generator=g).tolist()
    return ids


def forward_backward(model, names, inputs):
    params = dict(model.named_parameters())
    model.zero_grad()
    out = model(**inputs)
    out.loss.backward()
    tensors = {"logits": out.logits.detach().float().contiguous(), "loss": out.loss.detach().reshape(1).float()}
    by_saved = {rename(n, SAVE_RENAMES): p for n, p in params.items()}
    assert sorted(by_saved) == names, (sorted(by_saved), names)
    for n in names:
        g = by_saved[n].grad
        tensors["grad." + n] = (torch.zeros_like(by_saved[n]) if g is None else g.detach().clone()).contiguous()
    return tensors, out.logits.detach()


def check_reload(d, inputs, logits):
    """from_pretrained on the directory: nothing missing or unexpected, the same logits."""
    m, info = LlavaForConditionalGeneration.from_pretrained(d, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, (d, problems)
    with torch.no_grad():
        again = m.eval()(**{k: v for k, v in inputs.items() if k != "labels"}).logits
    assert torch.equal(again, logits), (d, (again - logits).abs().max())


def case(name, model, inputs, hub=False):
    d, names = save_model(model, name)
    tensors, logits = forward_backward(model, names, inputs)
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(d, "input.safetensors"),
              metadata={"format": "pt"})
    save_file(tensors, os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
    if hub:
        to_hub_layout(model, d)
    check_reload(d, inputs, logits)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name}: loss {tensors['loss'].item():.6f}, {len(names)} tensors, logits {list(logits.shape)}, {size} bytes")


def to_hub_layout(model, d):
    """Rewrites a 5.17 save as llava-hf's hub checkpoints are stored (4.x names and config keys)."""
    path = os.path.join(d, "model.safetensors")
    sd = load_file(path)
    out = {}
    for k, v in sd.items():
        out[rename(k, HUB_RENAMES) if k.startswith("vision_tower.") else k] = v
    n_pos = model.config.vision_config.image_size // model.config.vision_config.patch_size
    out["vision_tower.vision_model.embeddings.position_ids"] = torch.arange(n_pos * n_pos + 1).unsqueeze(0)
    save_file(out, path, metadata={"format": "pt"})

    cfg_path = os.path.join(d, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    text = cfg["text_config"]
    hub = {
        "architectures": ["LlavaForConditionalGeneration"],
        "ignore_index": -100,
        "image_token_index": cfg["image_token_index"],
        "model_type": "llava",
        "pad_token_id": 0,
        "projector_hidden_act": "gelu",
        "text_config": {      # only non-default keys, as the hub files list them
            "_name_or_path": "lmsys/vicuna-7b-v1.5", "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": text["hidden_size"], "intermediate_size": text["intermediate_size"],
            "num_hidden_layers": text["num_hidden_layers"], "num_attention_heads": text["num_attention_heads"],
            "num_key_value_heads": text["num_key_value_heads"], "max_position_embeddings": 128,
            "rms_norm_eps": text["rms_norm_eps"], "torch_dtype": "float32", "vocab_size": text["vocab_size"],
        },
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.36.0.dev0",
        "vision_config": {k: cfg["vision_config"][k] for k in (
            "hidden_size", "image_size", "intermediate_size", "model_type", "num_attention_heads",
            "num_hidden_layers", "patch_size", "projection_dim")},
        "vision_feature_layer": cfg["vision_feature_layer"],
        "vision_feature_select_strategy": cfg["vision_feature_select_strategy"],
        "vocab_size": text["vocab_size"],
    }
    hub["vision_config"]["vocab_size"] = 32000          # a stray key the hub files carry
    with open(cfg_path, "w") as f:
        json.dump(hub, f, indent=2, sort_keys=True)
        f.write("\n")


def batch(rows, pad=None):
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad if pad is not None else 0, dtype=torch.long)
    mask = torch.zeros(len(rows), T, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def main():
    os.makedirs(ROOT, exist_ok=True)
    g = torch.Generator().manual_seed(20251128)

    # gqa_untied ---------------------------------------------------------------------------------
    m = build(31, text=dict(num_key_value_heads=2))
    n = features_per_image(m.config)
    ids, _ = batch([row(g, 1, n), row(g, 1, n)])
    labels = ids.masked_fill(ids == IMAGE_TOKEN, -100)
    case("gqa_untied", m, dict(input_ids=ids, pixel_values=torch.randn(2, 3, 32, 32, generator=g), labels=labels))

    # tied_full_layer1 ---------------------------------------------------------------------------
    m = build(32, text=dict(num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True),
              vision_feature_layer=1, vision_feature_select_strategy="full")
    assert m.config.tie_word_embeddings
    n = features_per_image(m.config)
    ids, _ = batch([row(g, 1, n), row(g, 1, n)])
    labels = ids.clone()
    labels[:, :3] = -100
    case("tied_full_layer1", m, dict(input_ids=ids, pixel_values=torch.randn(2, 3, 32, 32, generator=g),
                                     labels=labels))

    # hub_layout ---------------------------------------------------------------------------------
    m = build(33, text=dict(num_key_value_heads=2, rms_norm_eps=1e-5))
    n = features_per_image(m.config)
    ids, _ = batch([row(g, 1, n, text_after=3), row(g, 1, n, text_after=3)])
    labels = ids.masked_fill(ids == IMAGE_TOKEN, -100)
    case("hub_layout", m, dict(input_ids=ids, pixel_values=torch.randn(2, 3, 32, 32, generator=g), labels=labels),
         hub=True)

    # padding_layers -----------------------------------------------------------------------------
    m = build(34, text=dict(num_key_value_heads=1, pad_token_id=0), vision_feature_layer=[0, -2],
              multimodal_projector_bias=False)
    n = features_per_image(m.config)
    ids, mask = batch([row(g, 2, n, text_after=3), row(g, 1, n, text_after=2)], pad=0)
    labels = ids.masked_fill((ids == IMAGE_TOKEN) | (mask == 0), -100)
    labels[0, 1] = -100
    labels[0, -1] = -100
    case("padding_layers", m, dict(input_ids=ids, attention_mask=mask,
                                   pixel_values=torch.randn(3, 3, 32, 32, generator=g), labels=labels))

    generate_case()


# ---- generate ---------------------------------------------------------------------------------

PROMPT = "What is in the picture?"
BATCH_PROMPTS = ["Describe it.", "How many shapes are there in this image?"]
MAX_NEW = 8


def generate_case():
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=TOKENIZER, bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>", pad_token="<unk>", padding_side="left")
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_15_TEMPLATE)
    image = Image.open(IMAGE)

    def chat(prompt):
        conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = processor.apply_chat_template(conv, add_generation_prompt=True)
        assert text == f"USER: <image>\n{prompt} ASSISTANT:", repr(text)
        return text

    single = processor(images=image, text=chat(PROMPT), return_tensors="pt")
    two = processor(images=[image, image], text=[chat(p) for p in BATCH_PROMPTS], padding=True, return_tensors="pt")
    assert (two.attention_mask[0] == 0).any() and two.attention_mask[:, -1].all()        # left padding

    for seed in range(40, 140):
        m = build(seed, text=dict(vocab_size=len(tokenizer), num_key_value_heads=2, tie_word_embeddings=True,
                                  bos_token_id=1, eos_token_id=2),
                  image_token_index=image_token_id)
        try:
            out1 = greedy(m, single)
            out2 = greedy(m, two)
            break
        except AssertionError as e:
            print(f"  seed {seed}: {e}")
    else:
        raise RuntimeError("no seed with clear greedy margins")

    d, _ = save_model(m, "generate")
    shutil.copyfile(TOKENIZER, os.path.join(d, "tokenizer.json"))
    image_processor.save_pretrained(d)
    P1 = single.input_ids.shape[1]
    P2 = two.input_ids.shape[1]
    new1 = out1[0, P1:].tolist()
    new2 = out2[:, P2:].tolist()
    answer = processor.decode(new1, skip_special_tokens=True)
    with torch.no_grad():
        logits = m(**single).logits
    save_file({
        "gen.input_ids": single.input_ids, "gen.pixel_values": single.pixel_values.contiguous(),
        "gen.output_ids": out1[:, P1:].contiguous(),
        "gen.batch.input_ids": two.input_ids, "gen.batch.attention_mask": two.attention_mask,
        "gen.batch.pixel_values": two.pixel_values.contiguous(), "gen.batch.output_ids": out2[:, P2:].contiguous(),
        "logits": logits.contiguous(),
    }, os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "generate.json"), "w") as f:
        json.dump({"prompt": PROMPT, "image": "../../clip/images/rgb_45x37.png", "max_new_tokens": MAX_NEW,
                   "prompt_text": chat(PROMPT), "input_ids": single.input_ids[0].tolist(), "output_ids": new1,
                   "answer": answer, "batch_prompts": BATCH_PROMPTS, "batch_output_ids": new2}, f, indent=2)
        f.write("\n")
    check_reload(d, dict(single), logits)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"generate: prompt {P1} tokens, new {new1} -> {answer!r}; batch {new2}; {size} bytes")


def greedy(model, inputs):
    """transformers' greedy generate, then a check that every step won by a margin float32 noise cannot flip."""
    out = model.generate(**inputs, do_sample=False, max_new_tokens=MAX_NEW, eos_token_id=2, pad_token_id=0)
    assert out.shape[1] == inputs.input_ids.shape[1] + MAX_NEW, "stopped at EOS"
    P = inputs.input_ids.shape[1]
    mask = torch.cat([inputs.attention_mask, torch.ones(out.shape[0], MAX_NEW, dtype=torch.long)], 1)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = model(input_ids=out, attention_mask=mask, position_ids=pos, pixel_values=inputs.pixel_values).logits
    top2 = logits[:, P - 1:-1].topk(2, dim=-1).values
    assert torch.equal(logits[:, P - 1:-1].argmax(-1), out[:, P:]), "full forward disagrees with generate"
    margin = (top2[..., 0] - top2[..., 1]).min().item()
    assert margin > 1e-3, f"greedy margin {margin} too small"
    for r in out[:, P:].tolist():       # a degenerate repetition would test little of the KV cache
        assert len(set(r)) >= 4, f"too repetitive: {r}"
    return out


if __name__ == "__main__":
    main()
