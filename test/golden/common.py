"""Writes golden fixtures as safetensors without the safetensors package (torch + numpy only).

Each fixture generator (test/golden/make_<group>.py) builds inputs with a fixed torch seed, runs the PyTorch
op and autograd, and saves inputs, outputs and gradients to test/golden/data/<name>.safetensors, which are
committed so `bun test` never needs Python. Run with Debian's python3-torch: /usr/bin/python3 test/golden/make_<group>.py
"""
import json
import os
import struct

import numpy as np
import torch

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def save(name, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor or np.ndarray (float -> F32, int -> I32)."""
    os.makedirs(DATA_DIR, exist_ok=True)
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for key, value in tensors.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        value = np.ascontiguousarray(value)
        if np.issubdtype(value.dtype, np.floating):
            value, dtype = value.astype("<f4"), "F32"
        else:
            value, dtype = value.astype("<i4"), "I32"
        raw = value.tobytes()
        header[key] = {"dtype": dtype, "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header)
    text += " " * ((8 - (len(text) + 8) % 8) % 8)
    path = os.path.join(DATA_DIR, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for raw in blobs:
            f.write(raw)
    print("wrote", path, sum(len(b) for b in blobs), "bytes")
