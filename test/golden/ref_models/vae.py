"""diffusers AutoencoderKL (Encoder / Decoder of models/autoencoders/vae.py, DownEncoderBlock2D, UpDecoderBlock2D,
UNetMidBlock2D, ResnetBlock2D, Downsample2D, Upsample2D, Attention with _from_deprecated_attn_block), parameter
names exactly as diffusers' current state dict (to_q/to_k/to_v/to_out.0). act silu, eps 1e-6, no temb, dropout 0.

ResnetBlock2D:  h = conv1(silu(norm1(x))); h = conv2(silu(norm2(h))); out = (conv_shortcut(x) if C_in != C_out else x) + h
Downsample2D:   F.pad(x, (0, 1, 0, 1)) then conv 3x3 stride 2 padding 0      (encoder, every down block but the last)
Upsample2D:     nearest 2x then conv 3x3 padding 1                            (decoder, every up block but the last)
mid attention:  single head over H*W tokens: group_norm -> to_q/to_k/to_v (Linear) -> softmax(q k^T / sqrt(C)) v
                -> to_out.0 (Linear) -> + residual
Encoder: conv_in -> down_blocks (layers_per_block resnets each) -> mid_block (resnet, attn, resnet)
         -> conv_norm_out -> silu -> conv_out (2 * latent channels)
Decoder: conv_in (latent -> C[-1]) -> mid_block -> up_blocks over reversed(block_out_channels), layers_per_block + 1
         resnets each -> conv_norm_out -> silu -> conv_out
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ResnetBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, groups, eps=1e-6):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps, affine=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1)
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0) if in_channels != out_channels else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h  # output_scale_factor 1


class Downsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Upsample2D(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    """diffusers Attention as built by UNetMidBlock2D for the VAE: heads = 1, dim_head = C, residual, rescale 1."""

    def __init__(self, channels, groups, eps=1e-6):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps, affine=True)
        self.to_q = nn.Linear(channels, channels, bias=True)
        self.to_k = nn.Linear(channels, channels, bias=True)
        self.to_v = nn.Linear(channels, channels, bias=True)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels, bias=True), nn.Dropout(0.0)])
        self.scale = channels ** -0.5

    def forward(self, x):  # (B, C, H, W)
        B, C, H, W = x.shape
        residual = x
        h = self.group_norm(x.view(B, C, H * W)).transpose(1, 2)  # (B, HW, C)
        q, k, v = self.to_q(h), self.to_k(h), self.to_v(h)
        attn = torch.softmax((q @ k.transpose(1, 2)) * self.scale, dim=-1)  # (B, HW, HW)
        h = self.to_out[0](attn @ v)  # (B, HW, C)
        h = h.transpose(1, 2).reshape(B, C, H, W)
        return h + residual


class UNetMidBlock2D(nn.Module):
    def __init__(self, channels, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(channels, channels, groups), ResnetBlock2D(channels, channels, groups)])
        self.attentions = nn.ModuleList([Attention(channels, groups)])

    def forward(self, x):
        x = self.resnets[0](x)
        x = self.attentions[0](x)
        return self.resnets[1](x)


class DownEncoderBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, num_layers, groups, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(num_layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels)]) if add_downsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
        return x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, in_channels, out_channels, num_layers, groups, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    def __init__(self, in_channels, latent_channels, block_out_channels, layers_per_block, groups):
        super().__init__()
        C = block_out_channels
        self.conv_in = nn.Conv2d(in_channels, C[0], 3, stride=1, padding=1)
        self.down_blocks = nn.ModuleList()
        out = C[0]
        for i in range(len(C)):
            inp, out = out, C[i]
            self.down_blocks.append(DownEncoderBlock2D(inp, out, layers_per_block, groups, add_downsample=i != len(C) - 1))
        self.mid_block = UNetMidBlock2D(C[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, C[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(C[-1], 2 * latent_channels, 3, padding=1)  # double_z

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    def __init__(self, latent_channels, out_channels, block_out_channels, layers_per_block, groups):
        super().__init__()
        C = block_out_channels
        self.conv_in = nn.Conv2d(latent_channels, C[-1], 3, stride=1, padding=1)
        self.mid_block = UNetMidBlock2D(C[-1], groups)
        self.up_blocks = nn.ModuleList()
        rev = list(reversed(C))
        out = rev[0]
        for i in range(len(rev)):
            prev, out = out, rev[i]
            self.up_blocks.append(UpDecoderBlock2D(prev, out, layers_per_block + 1, groups, add_upsample=i != len(C) - 1))
        self.conv_norm_out = nn.GroupNorm(groups, C[0], eps=1e-6)
        self.conv_out = nn.Conv2d(C[0], out_channels, 3, padding=1)

    def forward(self, z):
        x = self.conv_in(z)
        x = self.mid_block(x)
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512),
                 layers_per_block=2, norm_num_groups=32, scaling_factor=0.18215, with_decoder=True):
        super().__init__()
        self.latent_channels, self.scaling_factor = latent_channels, scaling_factor
        self.encoder = Encoder(in_channels, latent_channels, block_out_channels, layers_per_block, norm_num_groups)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        if with_decoder:
            self.decoder = Decoder(latent_channels, out_channels, block_out_channels, layers_per_block, norm_num_groups)
            self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)

    def moments(self, x):  # (B, 2 * latent, h, w): posterior mean (first half), logvar (second half, unclamped)
        return self.quant_conv(self.encoder(x))

    def encode_mean(self, x):  # DUSA: posterior mean * scaling_factor
        return self.moments(x)[:, :self.latent_channels] * self.scaling_factor

    def decode(self, z):  # z: scaled latent
        return self.decoder(self.post_quant_conv(z / self.scaling_factor))
