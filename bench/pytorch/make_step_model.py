"""The yardstick of the training-step benchmark: a compact LLaVA and one batch.

    vision tower   CLIP, hidden 128, 4 layers, 4 heads, intermediate 512, image 48 px, patch 8
                   -> 36 patches (LLaVA's defaults: vision_feature_layer -2, strategy "default",
                   i.e. the CLS feature is dropped)
    decoder        Llama, hidden 256, 4 layers, 8 heads, 4 KV heads, intermediate 688, vocab 1024
    batch          8 sequences of 84 tokens: 6 prompt + 36 image tokens + 42 text,
                   labels -100 on the first 42 positions

Random init with a fixed seed (torch's own initialisers), so the PyTorch and the Java run start
from the same weights. Writes, into OUT (a folder outside the repository, or an ignored one; the
weights are never committed):

    OUT/config.json, OUT/model.safetensors    save_pretrained
    OUT/input.safetensors                     input_ids I64 [8,84], attention_mask I64 [8,84],
                                              pixel_values F32 [8,3,48,48], labels I64 [8,84]

Run: /work/venv/bin/python bench/pytorch/make_step_model.py OUT
"""
import argparse
import os

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

BATCH, PROMPT, PATCHES, TEXT = 8, 6, 36, 42
SEQ = PROMPT + PATCHES + TEXT          # 84
VOCAB = 1024
IMAGE_TOKEN = VOCAB - 1                # the last id, as llava-hf puts <image> last


def config():
    vision = CLIPVisionConfig(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                              image_size=48, patch_size=8, projection_dim=128)
    text = LlamaConfig(vocab_size=VOCAB, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                       num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=256)
    return LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN,
                       image_seq_length=PATCHES, vision_feature_layer=-2,
                       vision_feature_select_strategy="default")


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(1, IMAGE_TOKEN, (BATCH, PROMPT), generator=g)
    image = torch.full((BATCH, PATCHES), IMAGE_TOKEN)
    text = torch.randint(1, IMAGE_TOKEN, (BATCH, TEXT), generator=g)
    input_ids = torch.cat([prompt, image, text], dim=1)
    labels = input_ids.clone()
    labels[:, :PROMPT + PATCHES] = -100
    pixel_values = torch.randn(BATCH, 3, 48, 48, generator=g)
    return {"input_ids": input_ids.contiguous(), "attention_mask": torch.ones(BATCH, SEQ, dtype=torch.int64),
            "pixel_values": pixel_values.contiguous(), "labels": labels.contiguous()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output folder (outside the repository or ignored)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    model = LlavaForConditionalGeneration(config())
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    gen = os.path.join(args.out, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    save_file(batch(args.seed), os.path.join(args.out, "input.safetensors"))
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.out}: {n} parameters, input [{BATCH}, {SEQ}]")


if __name__ == "__main__":
    main()
