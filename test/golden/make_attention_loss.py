"""Golden fixtures: multi-head self-attention (timm packed qkv and separate q/k/v) and the DUSA flow loss.

Everything is computed by PyTorch in float64 from float32 inputs and cast to float32 at the end, so a test's
tolerance measures only our float32 error. Attention is the plain math form softmax(q k^T / sqrt(d)) v (torch
1.13 has no F.scaled_dot_product_attention); the flow loss follows the unofficial flow-matching DUSA
(wjdmxx/DUSA_TTA_Lightning_Cell): mse, norm_l2 = mean(e / sqrt(e + 1e-3).detach()), cosine = mean(1 - cos).

Run: /usr/bin/python3 test/golden/make_attention_loss.py   (writes test/golden/data/attention_*.safetensors,
flow_loss.safetensors)
"""
import torch
import torch.nn.functional as F

from common import save

torch.manual_seed(20261123)


def attention(q, k, v):
    """q, k, v (B, NH, T, HD) float64 -> out (B, NH, T, HD), lse (B, NH, T)."""
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    lse = torch.logsumexp(scores, dim=-1)
    return torch.softmax(scores, dim=-1) @ v, lse


def heads(x, B, T, NH, HD):
    """(B, T, NH*HD) -> (B, NH, T, HD)"""
    return x.reshape(B, T, NH, HD).transpose(1, 2)


# timm Attention: qkv = Linear(x) -> reshape (B, T, 3, NH, HD); row stride 3*NH*HD
B, NH, T, HD = 2, 3, 17, 8
qkv = (torch.randn(B, T, 3 * NH * HD) * 1.5).float()
qkv64 = qkv.double().requires_grad_(True)
parts = qkv64.reshape(B, T, 3, NH, HD).permute(2, 0, 3, 1, 4)  # (3, B, NH, T, HD)
out, lse = attention(parts[0], parts[1], parts[2])
out = out.transpose(1, 2).reshape(B, T, NH * HD)
dout = torch.randn(B, T, NH * HD).float()
out.backward(dout.double())
save("attention_packed", {"qkv": qkv, "out": out, "lse": lse, "dout": dout, "dqkv": qkv64.grad},
     {"B": B, "T": T, "NH": NH, "HD": HD, "row_stride": 3 * NH * HD})

# separate q, k, v buffers (row stride NH*HD), the SiT-XL head dim
B, NH, T, HD = 1, 2, 24, 72
q, k, v = [(torch.randn(B, T, NH * HD) * s).float() for s in (1.5, 1.5, 1.0)]
q64, k64, v64 = [x.double().requires_grad_(True) for x in (q, k, v)]
out, lse = attention(heads(q64, B, T, NH, HD), heads(k64, B, T, NH, HD), heads(v64, B, T, NH, HD))
out = out.transpose(1, 2).reshape(B, T, NH * HD)
dout = torch.randn(B, T, NH * HD).float()
out.backward(dout.double())
save("attention_hd72", {"q": q, "k": k, "v": v, "out": out, "lse": lse, "dout": dout,
                        "dq": q64.grad, "dk": k64.grad, "dv": v64.grad},
     {"B": B, "T": T, "NH": NH, "HD": HD, "row_stride": NH * HD})

# flow loss: w (B, K) softmax weights, p (B, K, C, H, W) class-conditional predictions, target (B, C, H, W)
B, K, C, H, W = 3, 6, 4, 4, 4
w = torch.softmax(torch.randn(B, K), dim=-1).float()
target = torch.randn(B, C, H, W).float()
p = (target.unsqueeze(1) + 0.7 * torch.randn(B, K, C, H, W)).float()
cases = [((1.0, 0.0, 0.0), 1.0), ((0.0, 1.0, 0.0), 1.0), ((0.0, 0.0, 1.0), 1.0), ((1.0, 0.5, 0.25), 0.125)]
tensors = {"w": w, "p": p, "target": target}
for i, ((w_mse, w_norm, w_cos), grad_scale) in enumerate(cases):
    w64, p64, t64 = w.double().requires_grad_(True), p.double().requires_grad_(True), target.double()
    p_w = torch.einsum("bk,bkchw->bchw", w64, p64)
    mse = F.mse_loss(p_w, t64)
    e = ((p_w - t64) ** 2).flatten(1).mean(dim=1)
    norm_l2 = (e / (e + 1e-3).sqrt().detach()).mean()
    cosine = (1 - F.cosine_similarity(p_w.flatten(1), t64.flatten(1), dim=1)).mean()
    total = w_mse * mse + w_norm * norm_l2 + w_cos * cosine
    (grad_scale * total).backward()
    tensors[f"terms_{i}"] = torch.stack([total, mse, norm_l2, cosine])
    tensors[f"loss_weights_{i}"] = torch.tensor([w_mse, w_norm, w_cos, grad_scale])
    tensors[f"dw_{i}"] = w64.grad
    tensors[f"dp_{i}"] = p64.grad
save("flow_loss", tensors, {"B": B, "K": K, "D": C * H * W, "cases": len(cases)})
