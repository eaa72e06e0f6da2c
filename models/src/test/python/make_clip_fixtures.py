"""Makes the transformers parity fixtures for the CLIP tests (ClipParityTest, ClipImageProcessorTest).

Tiny random models built from configs in transformers 5.17 (no hub), saved with save_pretrained
into models/src/test/resources/clip/<case>/, each with an expected.safetensors holding the inputs,
the outputs and the gradient of a loss with respect to every parameter (under HF's names, prefixed
"grad."):

  clip               CLIPModel, quick_gelu, text hidden 32 / vision hidden 24, projection 16.
                     Inputs: input_ids and attention_mask [3, 7] (right padding), pixel_values
                     [3, 3, 32, 32]. Outputs: image_embeds, text_embeds (normalised, as
                     CLIPModel.forward), image_features/text_features (get_*_features),
                     logits_per_image, logits_per_text, loss (return_loss=True), the vision tower's
                     hidden_states.{0..L}, last_hidden_state and pooler_output, the text tower's
                     last_hidden_state, and text_features_eos2 (the same model with eos_token_id 2:
                     the legacy argmax pooling). Gradients: of the contrastive loss.
  clip_vision_model  CLIPVisionModel, gelu, image 30 with patch 8 (the strided conv ignores the last
                     6 rows/columns). Saved by 5.17, so its tensors have no vision_model. prefix.
                     Loss: sum(last_hidden_state * r_last) + sum(pooler_output * r_pool) with the
                     random weights r_* stored as inputs.

Image preprocessing (resources clip/images/): small PNGs (RGB at the crop size, RGB larger and
smaller than it, grayscale, RGBA, palette) and three JPEGs (4:2:0, 4:4:4, gray), a preprocessor_config.json, and
expected.safetensors with pixel_values.<file> as transformers' CLIPImageProcessorPil makes them
(bicubic, shortest edge 32, crop 32), and bilinear.pixel_values.<file> for a second processor
(bilinear to 20x26, crop 24x24: zero padding above and below) in images/bilinear/.

Run from the repository root. The image part needs Pillow, which /work/venv does not have; it was
made with Pillow 12.3 installed aside (pip install --target DIR pillow) and put on the path:

    PYTHONPATH=DIR /work/venv/bin/python models/src/test/python/make_clip_fixtures.py

The output is deterministic (the same bytes on every run).

Only to regenerate the fixtures, never in CI.
"""
import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel

ROOT = "models/src/test/resources/clip"
SEED = 20251127


def perturb(model, g):
    """HF's init leaves biases at 0 and LayerNorms at (1, 0): move them so the test sees them."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or "layer_norm" in name or "layernorm" in name or "layrnorm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)


def grads(model):
    return {"grad." + n: p.grad.detach().clone() for n, p in model.named_parameters()}


def save_case(name, model, tensors):
    out = os.path.join(ROOT, name)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, os.path.join(out, "expected.safetensors"))


def clip_case():
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED)
    text = dict(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=16, hidden_act="quick_gelu", pad_token_id=1, bos_token_id=0, eos_token_id=50)
    vision = dict(hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=3, image_size=32,
                  patch_size=8, hidden_act="quick_gelu")
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    model = CLIPModel(config).eval()
    perturb(model, g)

    # eos (50) at different positions, ids above 50 elsewhere (so the legacy argmax pools elsewhere),
    # right padding with pad id 1 after the eos
    input_ids = torch.tensor([[0, 12, 77, 50, 1, 1, 1],
                              [0, 98, 3, 64, 21, 50, 1],
                              [0, 5, 6, 7, 8, 9, 50]])
    attention_mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0],
                                   [1, 1, 1, 1, 1, 1, 0],
                                   [1, 1, 1, 1, 1, 1, 1]])
    pixel_values = torch.randn(3, 3, 32, 32, generator=g)

    out = model(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask, return_loss=True,
                output_hidden_states=True)
    out.loss.backward()
    vision_out = out.vision_model_output
    t = {
        "input_ids": input_ids, "attention_mask": attention_mask, "pixel_values": pixel_values,
        "image_embeds": out.image_embeds, "text_embeds": out.text_embeds,
        "logits_per_image": out.logits_per_image, "logits_per_text": out.logits_per_text, "loss": out.loss.reshape(1),
        "vision.last_hidden_state": vision_out.last_hidden_state,
        "text.last_hidden_state": out.text_model_output.last_hidden_state,
    }
    for i, h in enumerate(vision_out.hidden_states):
        t[f"vision.hidden_states.{i}"] = h
    t.update(grads(model))
    with torch.no_grad():
        # 5.17's get_image_features overwrites vision_model_output.pooler_output with the projection:
        # take the tower's own pooler output
        t["vision.pooler_output"] = model.vision_model(pixel_values=pixel_values).pooler_output
        t["image_features"] = model.get_image_features(pixel_values=pixel_values).pooler_output
        t["text_features"] = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        model.text_model.eos_token_id = 2    # the pre-#24773 configs: pool at the largest id
        t["text_features_eos2"] = model.get_text_features(input_ids=input_ids,
                                                          attention_mask=attention_mask).pooler_output
        model.text_model.eos_token_id = 50
    save_case("clip", model, t)


def vision_case():
    torch.manual_seed(SEED + 1)
    g = torch.Generator().manual_seed(SEED + 1)
    config = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                              image_size=30, patch_size=8, hidden_act="gelu")
    model = CLIPVisionModel(config).eval()
    perturb(model, g)
    pixel_values = torch.randn(2, 3, 30, 30, generator=g)
    out = model(pixel_values=pixel_values, output_hidden_states=True)
    r_last = torch.randn(out.last_hidden_state.shape, generator=g)
    r_pool = torch.randn(out.pooler_output.shape, generator=g)
    loss = (out.last_hidden_state * r_last).sum() + (out.pooler_output * r_pool).sum()
    loss.backward()
    t = {"pixel_values": pixel_values, "r_last": r_last, "r_pool": r_pool, "loss": loss.reshape(1),
         "last_hidden_state": out.last_hidden_state, "pooler_output": out.pooler_output}
    for i, h in enumerate(out.hidden_states):
        t[f"hidden_states.{i}"] = h
    t.update(grads(model))
    save_case("clip_vision_model", model, t)


def images_case():
    from PIL import Image
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    out = os.path.join(ROOT, "images")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(SEED)

    def smooth(h, w, c):
        """Noise plus a gradient: resampling has both edges and slopes to get right."""
        y, x = np.mgrid[0:h, 0:w]
        base = (x * 255.0 / max(w - 1, 1))[..., None] * np.array([1.0, 0.3, 0.6, 0.9])[:c]
        noise = rng.integers(0, 256, size=(h, w, c))
        return np.clip(0.5 * base + 0.5 * noise, 0, 255).astype(np.uint8)

    Image.fromarray(smooth(32, 32, 3), "RGB").save(os.path.join(out, "rgb_32x32.png"))      # no resize needed
    Image.fromarray(smooth(37, 45, 3), "RGB").save(os.path.join(out, "rgb_45x37.png"))      # downscale, crop width
    Image.fromarray(smooth(27, 20, 3), "RGB").save(os.path.join(out, "rgb_20x27.png"))      # upscale, crop height
    Image.fromarray(smooth(40, 40, 1)[..., 0], "L").save(os.path.join(out, "gray_40x40.png"))
    Image.fromarray(smooth(32, 32, 4), "RGBA").save(os.path.join(out, "rgba_32x32.png"))
    Image.fromarray(smooth(32, 32, 3), "RGB").quantize(colors=16).save(os.path.join(out, "palette_32x32.png"))
    Image.fromarray(smooth(48, 48, 3), "RGB").save(os.path.join(out, "rgb_48x48.jpg"), quality=90)
    Image.fromarray(smooth(29, 37, 3), "RGB").save(os.path.join(out, "rgb_37x29_444.jpg"), quality=75, subsampling=0)
    Image.fromarray(smooth(30, 30, 1)[..., 0], "L").save(os.path.join(out, "gray_30x30.jpg"), quality=80)

    proc = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    proc.save_pretrained(out)
    expected = {}
    for f in sorted(os.listdir(out)):
        if f.endswith((".png", ".jpg")):
            with Image.open(os.path.join(out, f)) as im:
                pv = proc(images=im, return_tensors="pt")["pixel_values"]
            expected["pixel_values." + f] = pv

    # bilinear to a fixed height x width, then a crop taller than the result (zero padding)
    other = CLIPImageProcessorPil(size={"height": 20, "width": 26}, crop_size={"height": 24, "width": 24}, resample=2)
    other.save_pretrained(os.path.join(out, "bilinear"))
    for f in ("rgb_45x37.png", "rgb_20x27.png"):
        with Image.open(os.path.join(out, f)) as im:
            expected["bilinear.pixel_values." + f] = other(images=im, return_tensors="pt")["pixel_values"]
    save_file(expected, os.path.join(out, "expected.safetensors"))


if __name__ == "__main__":
    clip_case()
    vision_case()
    images_case()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"fixtures in {ROOT}: {total / 1024:.0f} KiB")
