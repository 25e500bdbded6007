"""timm ConvNeXt (patch stem, conv_mlp=False), parameter names exactly as timm's state dict.

stem.0 (conv p x p / p) -> stem.1 (LayerNorm2d)
stages.{s}.downsample.{0: LayerNorm2d(C_in), 1: conv 2x2/2}   for s > 0 (stage 0: Identity, no keys)
stages.{s}.blocks.{m}: conv_dw (7x7 depthwise) -> NHWC -> norm (LayerNorm) -> mlp.fc1 -> GELU (erf) -> mlp.fc2
                       -> NCHW -> * gamma -> + shortcut
head: global average pool -> head.norm (LayerNorm2d on (B, C, 1, 1)) -> flatten -> head.fc
All norms eps 1e-6.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm2d(nn.LayerNorm):
    """timm LayerNorm2d: LayerNorm over the channel dim of an NCHW tensor (written out with explicit mean/var)."""

    def __init__(self, num_channels, eps=1e-6):
        super().__init__(num_channels, eps=eps)

    def forward(self, x):  # (B, C, H, W)
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)  # biased variance, as F.layer_norm
        xhat = (x - mean) / torch.sqrt(var + self.eps)
        return xhat * self.weight[None, :, None, None] + self.bias[None, :, None, None]


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, ls_init_value=1e-6, mlp_ratio=4):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(mlp_ratio * dim))
        self.gamma = nn.Parameter(ls_init_value * torch.ones(dim)) if ls_init_value is not None else None

    def forward(self, x):  # (B, C, H, W)
        shortcut = x
        x = self.conv_dw(x)
        x = x.permute(0, 2, 3, 1)  # (B, H, W, C)
        x = self.mlp(self.norm(x))
        x = x.permute(0, 3, 1, 2)  # (B, C, H, W)
        if self.gamma is not None:
            x = x * self.gamma.reshape(1, -1, 1, 1)
        return x + shortcut


class ConvNeXtStage(nn.Module):
    def __init__(self, in_chs, out_chs, depth, downsample, ls_init_value):
        super().__init__()
        if downsample:
            self.downsample = nn.Sequential(LayerNorm2d(in_chs), nn.Conv2d(in_chs, out_chs, kernel_size=2, stride=2, bias=True))
        else:
            assert in_chs == out_chs
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[ConvNeXtBlock(out_chs, ls_init_value) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class NormHead(nn.Module):
    def __init__(self, dim, num_classes):
        super().__init__()
        self.norm = LayerNorm2d(dim)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x):  # (B, C, H, W)
        x = x.mean(dim=(2, 3), keepdim=True)  # global average pool -> (B, C, 1, 1)
        x = self.norm(x).flatten(1)           # (B, C)
        return self.fc(x)


class ConvNeXt(nn.Module):
    """stage0_downsample=False: stage 0 has no downsample (timm with a 4x4/4 stem; our design for every stem).
    timm itself also puts a LayerNorm2d + 2x2/2 conv at stages.0.downsample when the stem stride is 2
    (`stride = 2 if curr_stride == 2 or i > 0`); pass stage0_downsample=True for that variant."""

    def __init__(self, in_chans=3, num_classes=1000, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), stem_patch=4,
                 ls_init_value=1e-6, stage0_downsample=False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], kernel_size=stem_patch, stride=stem_patch, bias=True),
                                  LayerNorm2d(dims[0]))
        stages, prev = [], dims[0]
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            stages.append(ConvNeXtStage(prev, dim, depth, i > 0 or stage0_downsample, ls_init_value))
            prev = dim
        self.stages = nn.Sequential(*stages)
        self.head = NormHead(dims[-1], num_classes)

    def forward(self, x):  # (B, in_chans, H, W) -> (B, num_classes)
        return self.head(self.stages(self.stem(x)))
