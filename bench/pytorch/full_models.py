"""The full-size (and tiny) models of bench/full/step.ts as plain PyTorch modules: test/golden/ref_models (timm,
diffusers, REPA/DiT parameter names) built from the same configs/model/*.yaml presets, so ours' safetensors load
strictly by name. For timing, the reference modules' written-out attention and LayerNorm2d are swapped for what the
public implementations run (timm and diffusers call F.scaled_dot_product_attention; timm's LayerNorm2d is
F.layer_norm over channels-last) — same function, same parameters.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test", "golden"))
from ref_models import convnext as ref_convnext  # noqa: E402
from ref_models import sit as ref_sit  # noqa: E402
from ref_models import vae as ref_vae  # noqa: E402

import st_io  # noqa: E402

PRESETS = {"full": ["convnext-large", "sd-vae", "sit-xl-2", "dit-xl-2"], "tiny": ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm", "sit-tiny-fm"]}
FILES = {"task": "convnext", "vae": "vae", "sit": "sit", "dit": "dit"}


def preset(name):
    with open(os.path.join(ROOT, "configs", "model", name + ".yaml")) as f:
        return yaml.safe_load(f)


def configs(which):
    c, v, s, d = (preset(n) for n in PRESETS[which])
    return {"task": c, "vae": v, "sit": s, "dit": d}


def build(which, name):
    """One model ('task', 'vae', 'sit', 'dit') on the CPU, in eval mode, with the reference's default init."""
    cfg = configs(which)[name]
    if name == "task":
        m = ref_convnext.ConvNeXt(in_chans=cfg["in_chans"], num_classes=cfg["num_classes"], depths=cfg["depths"], dims=cfg["dims"], stem_patch=cfg["stem_patch"])
    elif name == "vae":
        m = ref_vae.AutoencoderKL(in_channels=cfg["in_channels"], out_channels=cfg["out_channels"], latent_channels=cfg["latent_channels"],
                                  block_out_channels=cfg["block_out"], layers_per_block=cfg["layers_per_block"], norm_num_groups=cfg["groups"],
                                  scaling_factor=cfg["scaling_factor"], with_decoder=False)
    else:
        proj = cfg.get("projector") if name == "sit" else None
        kw = dict(input_size=cfg["input_size"], patch_size=cfg["patch_size"], in_channels=cfg["in_channels"], hidden_size=cfg["hidden"], depth=cfg["depth"],
                  num_heads=cfg["heads"], mlp_ratio=cfg["mlp_ratio"], num_classes=cfg["num_classes"])
        if name == "dit":
            m = ref_sit.DiT(**kw)
        else:
            m = ref_sit.SiT(z_dims=proj["z_dims"] if proj else None, encoder_depth=proj["encoder_depth"] if proj else 8,
                            projector_dim=proj["dim"] if proj else 2048, **kw)
    return m.eval()


def init_random(model, seed):
    """The same rule as bench/full/models.ts initWeights (not the same numbers): weights N(0, 1/fan_in), biases
    N(0, 0.02), norm affines 1/0, ConvNeXt gamma 0.1, label tables N(0, 0.02); pos_embed kept."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d)):
                mod.weight.normal_(0, mod.weight[0].numel() ** -0.5, generator=g)
                if mod.bias is not None:
                    mod.bias.normal_(0, 0.02, generator=g)
            elif isinstance(mod, (nn.LayerNorm, nn.GroupNorm)) and mod.weight is not None:
                mod.weight.fill_(1)
                mod.bias.fill_(0)
            elif isinstance(mod, nn.Embedding):
                mod.weight.normal_(0, 0.02, generator=g)
            if getattr(mod, "gamma", None) is not None:
                mod.gamma.fill_(0.1)


def load(model, path):
    """Strict load of ours' safetensors (every name and shape must match)."""
    tensors = {k: torch.from_numpy(v.copy()) for k, v in st_io.read(path).items()}
    model.load_state_dict(tensors, strict=True)


def models(which, device, weights=None, save=None, names=("task", "vae", "sit", "dit")):
    """The models on `device`, weights from ours (weights=DIR) or drawn here (and written to save=DIR)."""
    out = {}
    meta = weights and hasattr(torch.device("cpu"), "__enter__")  # torch >= 2.0: skip the reference init of 1.6 G params
    for i, name in enumerate(names):
        if meta:
            with torch.device("meta"):
                m = build(which, name)
            m = m.to_empty(device=device)
        else:
            m = build(which, name)
        if weights:
            load(m, os.path.join(weights, FILES[name] + ".safetensors"))
        else:
            init_random(m, 11 + i)
        if save:
            os.makedirs(save, exist_ok=True)
            st_io.write(os.path.join(save, FILES[name] + ".safetensors"), m.state_dict())
        if getattr(m, "projectors", None) is not None:
            m.projectors = None  # REPA's projection heads: loaded, never run by DUSA (ours skips them too)
        for p in m.parameters():
            p.requires_grad_(False)
        out[name] = m.to(device)
    return out


# ---- fast paths: what timm / diffusers run in place of the reference's written-out ops ----
def _sit_attention(self, x):
    B, N, C = x.shape
    q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
    return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, C))


def _vae_attention(self, x):
    B, C, H, W = x.shape
    h = self.group_norm(x.view(B, C, H * W)).transpose(1, 2)
    q, k, v = (lin(h).unsqueeze(1) for lin in (self.to_q, self.to_k, self.to_v))  # (B, 1, HW, C)
    h = self.to_out[0](F.scaled_dot_product_attention(q, k, v).squeeze(1))
    return h.transpose(1, 2).reshape(B, C, H, W) + x


def _layernorm2d(self, x):
    return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


def use_fast_paths():
    """Returns the list of swaps made (SDPA needs torch >= 2.0; the written-out attention stays otherwise)."""
    ref_convnext.LayerNorm2d.forward = _layernorm2d
    made = ["LayerNorm2d -> F.layer_norm channels-last"]
    if hasattr(F, "scaled_dot_product_attention"):
        ref_sit.Attention.forward = _sit_attention
        ref_vae.Attention.forward = _vae_attention
        made.append("attention -> F.scaled_dot_product_attention")
    return made


def cpu_autocast_norms():
    """CPU autocast in older torch (1.13) leaves layer_norm/group_norm out of its fp32 list, so bf16 inputs meet fp32
    affines and fail; CUDA autocast runs both in fp32. Do that by hand (a no-op on fp32 inputs). CPU runs only."""
    nn.LayerNorm.forward = lambda self, x: F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps)
    nn.GroupNorm.forward = lambda self, x: F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps)
    ref_convnext.LayerNorm2d.forward = lambda self, x: _layernorm2d(self, x.float())


def norm_param_names(model):
    """ConvNeXt norm affines (ours' role 'norm'): stem.1, downsample.0, blocks' norm, head.norm."""
    return [n for n, _ in model.named_parameters() if n.startswith("stem.1.") or ".downsample.0." in n or ".norm." in n or n.startswith("norm.")]


def aux_trainable(gen):
    """Every generative-model parameter but the label table and the fixed positional embedding (DUSA's update_aux)."""
    return [p for n, p in gen.named_parameters() if not n.startswith("y_embedder") and n != "pos_embed"]
