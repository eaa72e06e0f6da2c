"""Checks by hand that directories written by our ClipModel/ClipVisionModel.save load in transformers.

First let the Java test write them (our load of the HF fixtures, then our save; plus a random model):

    mvn -B -q -o test -pl models -am -Dtest=ClipCheckpointTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dclip.roundtrip.dir=/tmp/clip-roundtrip

then, from the repository root:

    /work/venv/bin/python models/src/test/python/check_clip_roundtrip.py /tmp/clip-roundtrip

For each directory: from_pretrained reports no missing, unexpected or mis-shaped tensor; every
parameter transformers holds equals the tensor in our file; and for the two fixture models the
outputs equal the fixture's expected ones (the numbers printed are max |diff|).
"""
import sys

import torch
from safetensors.torch import load_file
from transformers import CLIPModel, CLIPVisionModel

FIXTURES = "models/src/test/resources/clip"


def load(cls, path):
    model, info = cls.from_pretrained(path, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    assert not bad, f"{path}: {bad}"
    assert model.dtype == torch.float32, model.dtype
    ours = load_file(f"{path}/model.safetensors")
    state = model.state_dict()
    for name, t in state.items():
        if name.endswith("position_ids"):
            continue
        key = name if name in ours else "vision_model." + name
        assert torch.equal(ours[key], t), f"{path}: {name} differs from our file"
    print(f"{path}: loads cleanly, {len(state)} tensors equal to our file")
    return model.eval()


def diff(name, a, b):
    d = (a - b).abs().max().item()
    print(f"  {name:26s} max |diff| {d:.3g}")
    assert d < 1e-5, name


def main(root):
    e = load_file(f"{FIXTURES}/clip/expected.safetensors")
    m = load(CLIPModel, f"{root}/clip")
    with torch.no_grad():
        out = m(input_ids=e["input_ids"], pixel_values=e["pixel_values"], attention_mask=e["attention_mask"],
                return_loss=True, output_hidden_states=True)
    for k in ("image_embeds", "text_embeds", "logits_per_image", "logits_per_text"):
        diff(k, getattr(out, k), e[k])
    diff("loss", out.loss.reshape(1), e["loss"])

    e = load_file(f"{FIXTURES}/clip_vision_model/expected.safetensors")
    v = load(CLIPVisionModel, f"{root}/clip_vision_model")
    with torch.no_grad():
        out = v(pixel_values=e["pixel_values"], output_hidden_states=True)
    diff("last_hidden_state", out.last_hidden_state, e["last_hidden_state"])
    diff("pooler_output", out.pooler_output, e["pooler_output"])
    for i, h in enumerate(out.hidden_states):
        diff(f"hidden_states.{i}", h, e[f"hidden_states.{i}"])

    r = load(CLIPModel, f"{root}/random_clip")
    with torch.no_grad():
        out = r(input_ids=torch.tensor([[0, 5, 39, 1]]), pixel_values=torch.zeros(1, 3, 16, 16))
    assert torch.isfinite(out.logits_per_image).all()
    print("all good")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/clip-roundtrip")
