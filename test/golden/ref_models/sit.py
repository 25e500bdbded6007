"""REPA SiT (sihyun-yu/REPA models/sit.py) and DiT (facebookresearch/DiT models.py), parameter names exactly as
their state dicts. One class; dit=True gives DiT's behaviour (integer timesteps, learn_sigma -> 2C outputs).

x_embedder.proj (conv p x p / p, = timm PatchEmbed) -> flatten -> + pos_embed (fixed 2-D sin-cos, (1, T, D))
t_embedder: [cos, sin] frequency embedding of t (256 dims, max_period 10000) -> mlp.0 -> SiLU -> mlp.2
y_embedder.embedding_table: (num_classes + 1, D) (extra null row when class_dropout_prob > 0); eval mode, no drop
c = t_emb + y_emb
blocks.{i}: adaLN_modulation (SiLU -> .1 Linear(D, 6D)) -> shift/scale/gate msa, shift/scale/gate mlp
            x += gate_msa * attn(LN(x) * (1 + scale_msa) + shift_msa);  x += gate_mlp * mlp(LN(x) * (1 + scale_mlp) + shift_mlp)
            LN: no affine, eps 1e-6; attn = timm Attention (qkv with bias, scale HD^-0.5, proj); mlp GELU tanh
projectors.{k}.{0,2,4}: Linear -> SiLU -> Linear -> SiLU -> Linear after block encoder_depth (REPA only; unused by DUSA)
final_layer: adaLN_modulation.1 Linear(D, 2D) -> shift, scale; linear(LN(x) * (1 + scale) + shift) -> unpatchify
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- fixed 2-D sin-cos positional embedding, verbatim from DiT / REPA (MAE util/pos_embed.py) ----
def get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=False, extra_tokens=0):
    """Returns (grid_size * grid_size, embed_dim) float64. Token index = row * grid_size + col.
    First half of the dims encodes grid[0] = the COLUMN (w) coordinate (meshgrid puts w first, despite the
    name emb_h below), second half the ROW (h); within each half: [sin(pos * omega_k), cos(pos * omega_k)],
    omega_k = 1 / 10000^(k / (D/4)), k = 0..D/4-1."""
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)  # here w goes first
    grid = np.stack(grid, axis=0)
    grid = grid.reshape([2, 1, grid_size, grid_size])
    pos_embed = get_2d_sincos_pos_embed_from_grid(embed_dim, grid)
    if cls_token and extra_tokens > 0:
        pos_embed = np.concatenate([np.zeros([extra_tokens, embed_dim]), pos_embed], axis=0)
    return pos_embed


def get_2d_sincos_pos_embed_from_grid(embed_dim, grid):
    assert embed_dim % 2 == 0
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])  # (H*W, D/2)
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])  # (H*W, D/2)
    return np.concatenate([emb_h, emb_w], axis=1)  # (H*W, D)


def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    assert embed_dim % 2 == 0
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.
    omega = 1. / 10000 ** omega  # (D/2,)
    pos = pos.reshape(-1)  # (M,)
    out = np.einsum('m,d->md', pos, omega)  # (M, D/2), outer product
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)  # (M, D)


def timestep_embedding(t, dim, max_period=10000, exact=True):
    """[cos(t f_k), sin(t f_k)], f_k = exp(-ln(max_period) k / (dim/2)), k = 0..dim/2-1; t raw (SiT: [0,1]; DiT: integer).
    exact=True: computed in float64 (the fixture's answer). exact=False: the original code's float32 path
    (freqs and t * freqs rounded to float32) -- differs by up to ~1e-4 absolute for t near 1000."""
    half = dim // 2
    if exact:
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / half)
        args = t[:, None].double() * freqs[None]
    else:
        freqs = torch.exp(-math.log(max_period) * torch.arange(start=0, end=half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size, bias=True)

    def forward(self, x):  # (N, C, H, W) -> (N, T, D), tokens row-major over the patch grid
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden_size, frequency_embedding_size=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size))
        self.frequency_embedding_size = frequency_embedding_size

    def forward(self, t):
        t_freq = timestep_embedding(t, self.frequency_embedding_size).to(self.mlp[0].weight.dtype)
        return self.mlp(t_freq)


class LabelEmbedder(nn.Module):
    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), hidden_size)
        self.num_classes = num_classes

    def forward(self, labels):  # always eval mode: no label dropout (null class = index num_classes if passed)
        return self.embedding_table(labels)


class Attention(nn.Module):
    """timm Attention(qkv_bias=True, qk_norm=False), non-fused path written out."""

    def __init__(self, dim, num_heads):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):  # (B, T, D)
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, NH, T, HD)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, NH, T, T)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SiTBlock(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def build_mlp(hidden_size, projector_dim, z_dim):
    return nn.Sequential(nn.Linear(hidden_size, projector_dim), nn.SiLU(), nn.Linear(projector_dim, projector_dim), nn.SiLU(),
                         nn.Linear(projector_dim, z_dim))


class SiT(nn.Module):
    def __init__(self, input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16, mlp_ratio=4.0,
                 num_classes=1000, class_dropout_prob=0.1, learn_sigma=False, z_dims=None, encoder_depth=8, projector_dim=2048,
                 dit=False):
        super().__init__()
        self.dit = dit
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.patch_size = patch_size
        self.encoder_depth = encoder_depth
        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        grid = input_size // patch_size
        pos = torch.from_numpy(get_2d_sincos_pos_embed(hidden_size, grid)).float().unsqueeze(0)  # float32, as the originals
        self.pos_embed = nn.Parameter(pos, requires_grad=False)
        self.blocks = nn.ModuleList([SiTBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        if z_dims:  # REPA: projectors right after blocks[encoder_depth - 1]
            self.projectors = nn.ModuleList([build_mlp(hidden_size, projector_dim, z) for z in z_dims])
        else:
            self.projectors = None
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)

    def unpatchify(self, x):  # (N, T, p*p*c) -> (N, c, H, W); per token the p*p*c values are ordered (p_row, p_col, c)
        c, p = self.out_channels, self.patch_size
        h = w = int(x.shape[1] ** 0.5)
        assert h * w == x.shape[1]
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = torch.einsum('nhwpqc->nchpwq', x)
        return x.reshape(x.shape[0], c, h * p, w * p)

    def forward(self, x, t, y, return_zs=False):
        """x: (N, C, H, W); t: (N,) raw time (SiT: float in [0,1]; DiT: integer 0..999); y: (N,) int labels.
        Returns (N, out_channels, H, W) -- for DiT with learn_sigma all 2C channels (eps = first C)."""
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        N, T, D = x.shape
        c = self.t_embedder(t) + self.y_embedder(y)  # (N, D)
        zs = []
        for i, block in enumerate(self.blocks):
            x = block(x, c)
            if self.projectors is not None and (i + 1) == self.encoder_depth:
                zs = [proj(x.reshape(-1, D)).reshape(N, T, -1) for proj in self.projectors]
        x = self.unpatchify(self.final_layer(x, c))
        return (x, zs) if return_zs else x


def DiT(**kw):
    """facebookresearch/DiT: integer t, learn_sigma (8 output channels for 4 latent channels), no projectors."""
    kw.setdefault("learn_sigma", True)
    return SiT(dit=True, z_dims=None, **kw)
