"""Checkpoint fixtures for test/io: small real torch.save files and safetensors references of the same tensors.

Run: /usr/bin/python3 test/golden/make_checkpoints.py   (torch + numpy only; writes test/fixtures/checkpoints/)

Each <name>.pt / .pth has a <name>.safetensors beside it holding the same tensors, made contiguous, in their own
dtype (F16 stays F16, BF16 stays BF16), plus "<key>::f32" upcasts made by torch, so the TypeScript readers are checked
value by value against PyTorch. Tensor names in the references are the dotted paths of the nested dicts.
Everything is tiny (< 100 KB per file); truncated copies are made by the tests at run time. Reruns reproduce every
file byte for byte except legacy_format.pt (the legacy format keys storages by Python object ids).
"""
import argparse
import collections
import copy
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "checkpoints")
torch.manual_seed(20261203)

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().newbyteorder("<").tobytes() if t.dtype != torch.bool else t.numpy().astype(np.uint8).tobytes()


def write_safetensors(name, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for key, t in tensors.items():
        raw = tensor_bytes(t)
        header[key] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header)
    text += " " * ((8 - (len(text) + 8) % 8) % 8)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for raw in blobs:
            f.write(raw)


def flatten(obj, prefix=""):
    """Dotted paths of every tensor in nested dicts/lists, as the TypeScript reader names them."""
    out = collections.OrderedDict()
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}."))
    return out


def reference(name, obj, metadata=None):
    """<name>.safetensors: every tensor of obj, contiguous, plus torch's float32 upcast of reduced-precision ones."""
    tensors = collections.OrderedDict()
    for key, t in flatten(obj).items():
        tensors[key] = t.detach().contiguous()
        if t.dtype in (torch.float16, torch.bfloat16, torch.float64):
            tensors[key + "::f32"] = t.detach().float().contiguous()
    write_safetensors(name, tensors, metadata)


def save(name, obj, ext=".pt", **kwargs):
    path = os.path.join(OUT, name + ext)
    torch.save(obj, path, **kwargs)
    return path


# 1. A raw state dict: contiguous, transposed, offset, strided, channels-last, expanded (stride 0), 0-d and empty
#    tensors, several of them views of one storage.
base = torch.randn(3, 4)
raw = collections.OrderedDict()
raw["linear.weight"] = base
raw["linear.weight_t"] = base.t()
raw["flat_slice"] = base.view(-1)[5:9]
raw["every_other_column"] = base[:, ::2]
raw["conv.weight"] = torch.randn(2, 3, 2, 2).contiguous(memory_format=torch.channels_last)
raw["expanded"] = torch.randn(3).expand(2, 3)
raw["scale"] = torch.tensor(0.5)
raw["empty"] = torch.empty(0, 3)
raw["param"] = nn.Parameter(torch.randn(5))
assert not raw["linear.weight_t"].is_contiguous() and raw["flat_slice"].storage_offset() == 5
save("raw_state_dict", raw)
reference("raw_state_dict", raw)


# 2. A REPA-style train checkpoint {'model', 'ema', 'opt', 'args', 'steps'} of a tiny SiT with REPA key names.
class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, 2 * c), nn.Linear(2 * c, c)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attn, self.mlp = Attention(c), Mlp(c)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(c, 6 * c))


class TinySiT(nn.Module):
    def __init__(self, c=4, classes=3):
        super().__init__()
        self.x_embedder = nn.Module()
        self.x_embedder.proj = nn.Conv2d(2, c, 2, 2)
        self.t_embedder = nn.Module()
        self.t_embedder.mlp = nn.Sequential(nn.Linear(8, c), nn.SiLU(), nn.Linear(c, c))
        self.y_embedder = nn.Module()
        self.y_embedder.embedding_table = nn.Embedding(classes + 1, c)
        self.pos_embed = nn.Parameter(torch.randn(1, 4, c), requires_grad=False)
        self.blocks = nn.ModuleList([Block(c) for _ in range(2)])
        self.projectors = nn.ModuleList([nn.Sequential(nn.Linear(c, 8), nn.SiLU(), nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 5))])
        self.final_layer = nn.Module()
        self.final_layer.linear = nn.Linear(c, 8)
        self.final_layer.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(c, 2 * c))


sit = TinySiT()
ema = copy.deepcopy(sit)
with torch.no_grad():
    for p in ema.parameters():
        p.mul_(0.5).add_(0.25)
opt = torch.optim.AdamW(sit.parameters(), lr=1e-4)
sum((p ** 2).sum() for p in sit.parameters() if p.requires_grad).backward()
opt.step()
args = argparse.Namespace(model="SiT-XL/2", encoder_depth=8, proj_coeff=0.5, enc_type="dinov2-vit-b", z_dims=[5],
                          learning_rate=1e-4, adam_betas=(0.9, 0.999), qk_norm=False, output_dir=None)
train = {"model": sit.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "args": args, "steps": 3,
         "metrics": {"best_loss": np.float64(0.125), "seen": np.int64(96)}}
save("train_checkpoint", train)
reference("train_checkpoint", train)
with open(os.path.join(OUT, "tiny_sit_shapes.json"), "w") as f:  # the model's expected parameter table
    json.dump({k: list(v.shape) for k, v in TinySiT().state_dict().items()}, f, indent=0)

# 3. A DDP checkpoint: {'state_dict': {'module.<name>': ...}}
ddp = {"state_dict": collections.OrderedDict((f"module.{k}", v) for k, v in nn.Linear(3, 2).state_dict().items())}
save("ddp_state_dict", ddp, ext=".pth")
reference("ddp_state_dict", ddp)

# 4. Every dtype a state dict carries, contiguous and not.
half = torch.randn(3, 5).half()
half[0, 0], half[0, 1], half[0, 2] = float("inf"), -0.0, 6e-8  # inf, negative zero, an F16 subnormal
bf = torch.randn(4, 3).bfloat16()
bf[0, 0] = float("-inf")
dtypes = collections.OrderedDict()
dtypes["f16"] = half
dtypes["f16_t"] = half.t()
dtypes["bf16"] = bf
dtypes["f64"] = torch.randn(2, 3, dtype=torch.float64)
dtypes["i64"] = torch.tensor([[0, -1, 2 ** 31 - 1], [-2 ** 31, 7, 123456789]], dtype=torch.int64)
dtypes["i64_t"] = dtypes["i64"].t()
dtypes["i32"] = torch.tensor([5, -6, 2 ** 31 - 1], dtype=torch.int32)
dtypes["u8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
dtypes["flags"] = torch.tensor([True, False, True])
save("dtypes", dtypes)
reference("dtypes", dtypes)
save("int64_overflow", {"ok": torch.ones(2), "counter": torch.tensor([1, 2 ** 40], dtype=torch.int64)})


# F32 -> F16 / BF16 rounding as torch does it (round to nearest even, overflow to inf, subnormals, NaN), for the writer.
edges = [0.0, -0.0, 1.0, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504.0, 65519.0, 65520.0, -70000.0,
         2 ** -14, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 3 * 2 ** -26, 2 ** -26, 1e-8, 6.1e-5, 3.4e38, -3.4e38, 1e-40,
         float("inf"), float("-inf"), float("nan")]
x = torch.cat([torch.tensor(edges, dtype=torch.float32), torch.randn(200) * torch.logspace(-9, 6, 200)])
write_safetensors("rounding", collections.OrderedDict([("x", x), ("x_f16", x.half()), ("x_bf16", x.bfloat16())]))

# 5. ConvNeXt in three namings: the original FB release ({'model': ...}, .pth), mmpretrain (DUSA's checkpoint:
#    {'meta', 'state_dict'} with backbone.* / head.fc.*) and timm (the names our model uses). Tiny shapes.
IN, DIMS, DEPTHS, CLASSES = 1, [2, 4, 4, 8], [1, 1, 2, 1], 3


class FBBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.dwconv = nn.Conv2d(d, d, 7, padding=3, groups=d)
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.pwconv1, self.pwconv2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.gamma = nn.Parameter(torch.randn(d))


class FBConvNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.downsample_layers = nn.ModuleList([nn.Sequential(nn.Conv2d(IN, DIMS[0], 2, 2), nn.LayerNorm(DIMS[0]))] + [
            nn.Sequential(nn.LayerNorm(DIMS[i]), nn.Conv2d(DIMS[i], DIMS[i + 1], 2, 2)) for i in range(3)])
        self.stages = nn.ModuleList([nn.Sequential(*[FBBlock(DIMS[i]) for _ in range(DEPTHS[i])]) for i in range(4)])
        self.norm = nn.LayerNorm(DIMS[-1])
        self.head = nn.Linear(DIMS[-1], CLASSES)


class TimmBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.conv_dw = nn.Conv2d(d, d, 7, padding=3, groups=d)
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.gamma = nn.Parameter(torch.randn(d))


class TimmStage(nn.Module):
    def __init__(self, i):
        super().__init__()
        self.downsample = nn.Identity() if i == 0 else nn.Sequential(nn.LayerNorm(DIMS[i - 1]), nn.Conv2d(DIMS[i - 1], DIMS[i], 2, 2))
        self.blocks = nn.Sequential(*[TimmBlock(DIMS[i]) for _ in range(DEPTHS[i])])


class TimmConvNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(IN, DIMS[0], 2, 2), nn.LayerNorm(DIMS[0]))
        self.stages = nn.Sequential(*[TimmStage(i) for i in range(4)])
        self.head = nn.Module()
        self.head.norm, self.head.fc = nn.LayerNorm(DIMS[-1]), nn.Linear(DIMS[-1], CLASSES)


def timm_filter(state_dict):
    """timm.models.convnext.checkpoint_filter_fn for FB checkpoints (conv_mlp=False: no reshapes)."""
    import re
    out = {}
    for k, v in state_dict.items():
        k = k.replace("downsample_layers.0.", "stem.")
        k = re.sub(r"stages.([0-9]+).([0-9]+)", r"stages.\1.blocks.\2", k)
        k = re.sub(r"downsample_layers.([0-9]+).([0-9]+)", r"stages.\1.downsample.\2", k)
        k = k.replace("dwconv", "conv_dw").replace("pwconv", "mlp.fc").replace("head.", "head.fc.")
        if k.startswith("norm."):
            k = k.replace("norm", "head.norm")
        out[k] = v
    return out


def mmpretrain_names(state_dict):
    """FB names -> mmpretrain ConvNeXt (backbone.*, norm3, LinearClsHead head.fc.*)."""
    out = collections.OrderedDict()
    for k, v in state_dict.items():
        k = k.replace("dwconv", "depthwise_conv").replace("pwconv", "pointwise_conv")
        if k.startswith("norm."):
            k = "norm3." + k[len("norm."):]
        out["head.fc." + k[len("head."):] if k.startswith("head.") else "backbone." + k] = v
    return out


fb = FBConvNeXt()
timm = TimmConvNeXt()
timm.load_state_dict(timm_filter(fb.state_dict()), strict=True)
save("convnext_fb", {"model": fb.state_dict()}, ext=".pth")
reference("convnext_fb", {"model": fb.state_dict()})
save("convnext_mmpretrain", {"meta": {"epoch": 300, "CLASSES": ("a", "b", "c")}, "state_dict": mmpretrain_names(fb.state_dict())}, ext=".pth")
write_safetensors("convnext_timm", timm.state_dict())

# 6. A diffusers AutoencoderKL encoder (tiny: 1 -> [4, 8], 1 layer per block, 4 latent channels) with the old attention names
#    (query/key/value/proj_attn), and the same tensors under the current names (to_q/to_k/to_v/to_out.0) as
#    safetensors with the scaling factor in __metadata__.
vae_new = collections.OrderedDict()


def add(name, *shape):
    vae_new[name] = torch.randn(*shape)


def resnet(prefix, cin, cout):
    add(f"{prefix}.norm1.weight", cin), add(f"{prefix}.norm1.bias", cin)
    add(f"{prefix}.conv1.weight", cout, cin, 3, 3), add(f"{prefix}.conv1.bias", cout)
    add(f"{prefix}.norm2.weight", cout), add(f"{prefix}.norm2.bias", cout)
    add(f"{prefix}.conv2.weight", cout, cout, 3, 3), add(f"{prefix}.conv2.bias", cout)
    if cin != cout:
        add(f"{prefix}.conv_shortcut.weight", cout, cin, 1, 1), add(f"{prefix}.conv_shortcut.bias", cout)


add("encoder.conv_in.weight", 4, 1, 3, 3), add("encoder.conv_in.bias", 4)
resnet("encoder.down_blocks.0.resnets.0", 4, 4)
add("encoder.down_blocks.0.downsamplers.0.conv.weight", 4, 4, 3, 3), add("encoder.down_blocks.0.downsamplers.0.conv.bias", 4)
resnet("encoder.down_blocks.1.resnets.0", 4, 8)
resnet("encoder.mid_block.resnets.0", 8, 8)
add("encoder.mid_block.attentions.0.group_norm.weight", 8), add("encoder.mid_block.attentions.0.group_norm.bias", 8)
for proj in ["to_q", "to_k", "to_v", "to_out.0"]:
    add(f"encoder.mid_block.attentions.0.{proj}.weight", 8, 8), add(f"encoder.mid_block.attentions.0.{proj}.bias", 8)
resnet("encoder.mid_block.resnets.1", 8, 8)
add("encoder.conv_norm_out.weight", 8), add("encoder.conv_norm_out.bias", 8)
add("encoder.conv_out.weight", 8, 8, 3, 3), add("encoder.conv_out.bias", 8)
add("quant_conv.weight", 8, 8, 1, 1), add("quant_conv.bias", 8)
old_name = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
vae_old = {}
for k, v in vae_new.items():
    for new, old in old_name.items():
        k = k.replace(f".{new}.", f".{old}.")
    vae_old[k] = v
save("vae_encoder_old_names", vae_old)
write_safetensors("vae_encoder", vae_new, {"scaling_factor": 0.18215, "format": "diffusers AutoencoderKL encoder"})

# 7. A malicious pickle: unpickling it with pickle/torch.load would run `echo pwned`.
class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


save("malicious", collections.OrderedDict([("weight", torch.ones(2)), ("payload", Exploit())]))

# 8. The raw state dict again: in the legacy (pre-1.6, non-zip) format, deflate-compressed, and as a zip64 archive.
save("legacy_format", raw, _use_new_zipfile_serialization=False)


def rezip(src, dst, compression):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), zin.read(info.filename), compression)


rezip(os.path.join(OUT, "raw_state_dict.pt"), os.path.join(OUT, "raw_state_dict_deflated.pt"), zipfile.ZIP_DEFLATED)


def zip64(src, dst):
    """Rewrites a stored zip with every size and offset in zip64 extra fields (0xFFFFFFFF in the 32-bit slots) and a
    zip64 end-of-central-directory record + locator, as writers do for files past 4 GiB."""
    out, central = bytearray(), bytearray()
    with zipfile.ZipFile(src) as zin:
        infos = zin.infolist()
        for info in infos:
            data = zin.read(info.filename)
            name = info.filename.encode()
            offset = len(out)
            extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
            pad = (64 - (len(out) + 30 + len(name) + len(extra) + 4) % 64) % 64  # keep data 64-byte aligned
            extra += struct.pack("<HH", 0xFB, pad) + b"Z" * pad
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, info.CRC, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra))
            out += name + extra + data
            cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, info.CRC, 0xFFFFFFFF, 0xFFFFFFFF,
                                   len(name), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + name + cextra
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(infos), len(infos), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


zip64(os.path.join(OUT, "raw_state_dict.pt"), os.path.join(OUT, "raw_state_dict_zip64.pt"))
for variant in ["raw_state_dict_deflated.pt", "raw_state_dict_zip64.pt", "legacy_format.pt"]:
    loaded = torch.load(os.path.join(OUT, variant))
    assert all(torch.equal(loaded[k], raw[k]) for k in raw), variant
with zipfile.ZipFile(os.path.join(OUT, "raw_state_dict_zip64.pt")) as z:
    assert z.testzip() is None and z.infolist()[0].file_size < 2 ** 32

# 9. Plain pickles of protocols 2..5 (no tensors) for the unpickler's opcode coverage.
shared = [1, 2]
plain = {"int": 5, "neg": -300, "i2": 40000, "i4": -2 ** 31, "big": 2 ** 70, "negbig": -2 ** 65, "float": 1.5,
         "str": "h\u00e9llo \u2713", "long_str": "x" * 300, "bytes": b"\x00\xff", "none": None, "t": True, "f": False,
         "tuple0": (), "tuple1": (1,), "tuple3": (1, 2, 3), "tuple5": (1, 2, 3, 4, 5), "list": [1, [2, 3]],
         "dict": {1: "a", "b": 2}, "od": collections.OrderedDict(a=1), "set": {3}, "shared": shared, "shared2": shared,
         "empty_list": [], "nested": {"a": {"b": {"c": [None]}}}}
os.makedirs(os.path.join(OUT, "pickles"), exist_ok=True)
for protocol in range(2, 6):
    with open(os.path.join(OUT, "pickles", f"plain_p{protocol}.pkl"), "wb") as f:
        pickle.dump(plain, f, protocol=protocol)

for name in sorted(os.listdir(OUT)):
    path = os.path.join(OUT, name)
    if os.path.isfile(path):
        size = os.path.getsize(path)
        assert size < 100_000, (name, size)
        print(f"{size:7d}  {name}")
