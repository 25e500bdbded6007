"""Golden fixtures: LayerNorm (affine), LayerNorm + adaLN modulate as in SiT/DiT blocks, timm LayerNorm2d.

Run: /usr/bin/python3 test/golden/make_norm.py   (torch only; writes test/golden/data/norm_*.safetensors)
"""
import torch
import torch.nn.functional as F

from common import save

torch.manual_seed(20261122)

# LayerNorm with affine over (N, C)
N, C = 12, 48
x = torch.randn(N, C, requires_grad=True)
w = torch.randn(C, requires_grad=True)
b = torch.randn(C, requires_grad=True)
out = F.layer_norm(x, (C,), w, b, eps=1e-6)
g = torch.randn_like(out)
out.backward(g)
save("norm_layernorm", {"x": x, "weight": w, "bias": b, "out": out, "dout": g, "dx": x.grad, "dweight": w.grad, "dbias": b.grad})

# SiT block: c -> adaLN_modulation (SiLU, Linear(C, 6C)) -> chunk 6; x = modulate(norm1(x), shift_msa, scale_msa)
B, T, C = 3, 16, 32
x = torch.randn(B, T, C, requires_grad=True)
mod = torch.randn(B, 6 * C, requires_grad=True)
shift, scale = mod[:, :C], mod[:, C:2 * C]
xhat = F.layer_norm(x, (C,), eps=1e-6)
out = xhat * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)
g = torch.randn_like(out)
out.backward(g)
save("norm_layernorm_modulate", {"x": x, "mod": mod, "out": out, "dout": g, "dx": x.grad, "dmod": mod.grad},
     {"B": B, "T": T, "C": C, "mod_stride": 6 * C})

# timm LayerNorm2d: permute NCHW -> NHWC, layer_norm over C, permute back
B, C, H, W = 2, 24, 5, 7
x = torch.randn(B, C, H, W, requires_grad=True)
w = torch.randn(C, requires_grad=True)
b = torch.randn(C, requires_grad=True)
out = F.layer_norm(x.permute(0, 2, 3, 1), (C,), w, b, eps=1e-6).permute(0, 3, 1, 2)
g = torch.randn_like(out)
out.backward(g)
save("norm_layernorm2d", {"x": x, "weight": w, "bias": b, "out": out, "dout": g, "dx": x.grad, "dweight": w.grad, "dbias": b.grad})
