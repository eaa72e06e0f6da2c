"""Writes the safetensors fixtures the Java tests read (tensor/src/test/resources/safetensors/).

Run from the repository root:  /work/venv/bin/python tensor/src/test/python/make_safetensors_fixture.py
Needs torch, numpy and safetensors. The outputs are committed; CI does not run this.

python_all_dtypes.safetensors / .json
    One tensor per dtype the Java reader converts, written by the Python safetensors library,
    with special values (F16 subnormals, signed zeros, infinities, NaNs with payloads, BF16
    specials, int64 extremes), a 0-d scalar and empty tensors. The JSON side file holds the
    expected values: for float dtypes the bits of the float32 each element converts to (computed
    by numpy, whose float16 -> float32 keeps NaN payloads exactly as IEEE widening does; torch
    turns every F16 NaN into 0x7fffffff), for integer dtypes the integers.

writer_reference.safetensors / .json
    F32, I64 and I32 tensors plus one metadata entry, written by the Python library; the JSON side
    file lists them in a different order than the file. The Java writer, given the same tensors,
    must produce these exact bytes.
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "safetensors")


def from_bits(bits, int_dtype, float_dtype):
    """A float tensor with exactly these bit patterns (given as unsigned ints)."""
    width = torch.iinfo(int_dtype).bits
    signed = [b - (1 << width) if b >= 1 << (width - 1) else b for b in bits]
    return torch.tensor(signed, dtype=int_dtype).view(float_dtype)


def f32_bits(array_f32):
    return [int(b) for b in np.asarray(array_f32, dtype=np.float32).reshape(-1).view(np.uint32)]


def expected(t):
    """The JSON description of tensor t: dtype, shape, and the values the Java reader must return."""
    dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}[t.dtype]
    entry = {"dtype": dtype, "shape": list(t.shape)}
    if t.dtype == torch.bfloat16:
        # bfloat16 -> float32 in torch is the 16-bit shift, payloads included
        entry["f32_bits"] = f32_bits(t.float().numpy())
    elif t.is_floating_point():
        # numpy: exact IEEE widening (float16) and round-to-nearest-even narrowing (float64;
        # 1e300 overflows to inf, as it should)
        with np.errstate(over="ignore"):
            entry["f32_bits"] = f32_bits(t.numpy().astype(np.float32))
    else:
        entry["values"] = [int(v) for v in t.reshape(-1).tolist()]
    return entry


def all_dtypes():
    g = torch.Generator().manual_seed(1234)
    f16_special = from_bits([
        0x0000, 0x8000,          # +0, -0
        0x0001, 0x8001,          # smallest subnormal 2^-24, negative
        0x03FF, 0x0200,          # largest subnormal, a middle one
        0x0400, 0x3C00, 0xBC00,  # smallest normal, 1, -1
        0x7BFF, 0xFBFF,          # +-65504
        0x7C00, 0xFC00,          # +-inf
        0x7E00, 0xFE00,          # quiet NaNs (positive, negative)
        0x7C01, 0x7E55,          # signalling NaN and a quiet NaN with payload bits
        0x3555, 0xC248,          # 1/3-ish, -3.14
    ], torch.int16, torch.float16)
    bf16_special = from_bits([
        0x0000, 0x8000, 0x0001, 0x807F,  # zeros, subnormals
        0x3F80, 0xC049, 0x7F7F, 0xFF7F,  # 1, -3.14, +-max
        0x7F80, 0xFF80, 0x7FC0, 0x7F81,  # +-inf, NaNs (quiet, signalling)
    ], torch.int16, torch.bfloat16).reshape(3, 4)
    tensors = {
        "f32_matrix": torch.randn(3, 5, generator=g),
        "f32_special": from_bits([0x00000000, 0x80000000, 0x00000001, 0x7F7FFFFF, 0x7F800000, 0xFF800000,
                                  0x7FC00000, 0x7FA00001], torch.int32, torch.float32),
        "f32_scalar": torch.tensor(2.5),
        "f32_empty": torch.zeros(0, 3),
        "f16_special": f16_special,
        "f16_random": torch.randn(2, 3, 4, generator=g).half(),
        "bf16_special": bf16_special,
        "bf16_random": torch.randn(7, generator=g).bfloat16(),
        "f64_values": torch.tensor([0.1, -1e-300, 1e300, 3.0000001192092896, 1 + 2 ** -24], dtype=torch.float64),
        "i64_ids": torch.tensor([[0, 1, -1, 2 ** 53 + 1], [-(2 ** 63), 2 ** 63 - 1, 151643, 7]], dtype=torch.int64),
        "i64_scalar": torch.tensor(-42, dtype=torch.int64),
        "i64_empty": torch.zeros(0, dtype=torch.int64),
        "i32_mask": torch.tensor([[1, 1, 0], [-(2 ** 31), 2 ** 31 - 1, -7]], dtype=torch.int32),
        "i16_values": torch.tensor([-32768, 32767, -1], dtype=torch.int16),
        "i8_values": torch.tensor([-128, 127, -1, 0], dtype=torch.int8),
        "u8_values": torch.tensor([0, 255, 128], dtype=torch.uint8),
        "bool_mask": torch.tensor([True, False, True], dtype=torch.bool),
    }
    metadata = {"format": "pt", "source": "make_safetensors_fixture.py"}
    return tensors, metadata


def writer_reference():
    g = torch.Generator().manual_seed(99)
    # names chosen so that file order (dtype, then UTF-8 bytes of the name) differs from this order
    tensors = {
        "z.weight": torch.randn(2, 3, generator=g),
        "b": torch.tensor([[5, -6], [2 ** 40, 0]], dtype=torch.int64),
        "A": torch.tensor(0.75),
        "\u00e9t\u00e9": torch.randn(3, generator=g),
        "a\"quote\\": torch.zeros(0, 4),
        "positions": torch.tensor([3, -2, 2 ** 31 - 1], dtype=torch.int32),
        "empty_ids": torch.zeros(0, dtype=torch.int64),
    }
    metadata = {"format": "pt"}  # one key: the Python library writes several in hash order
    return tensors, metadata


def write(name, tensors, metadata):
    path = os.path.join(OUT, name + ".safetensors")
    save_file(tensors, path, metadata=metadata)
    # one tensor per line keeps the side file small and readable
    lines = ['{"metadata": ' + json.dumps(metadata) + ',', ' "tensors": {']
    items = [" " + json.dumps(k) + ": " + json.dumps(expected(v)) for k, v in tensors.items()]
    lines.append(",\n".join(items))
    lines.append(" }}")
    with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("python_all_dtypes", *all_dtypes())
    write("writer_reference", *writer_reference())
