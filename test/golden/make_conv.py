"""Golden fixtures for the conv group: conv2d (padded, SD-VAE stride-2 asymmetric pad, ConvNeXt stem),
depthwise 7x7 conv, GroupNorm with and without SiLU, and bilinear align_corners resize.

Inputs are drawn in float32 with a fixed seed; the convs and GroupNorm then run in float64 (so a fixture carries
PyTorch's semantics without PyTorch's float32 rounding) and every tensor is saved as float32. Gradients come from
autograd with a random upstream gradient `dout`. The resize runs in float32: its source coordinates are float in
PyTorch's CPU kernel, and the dusa kernel copies that arithmetic.

Run: /usr/bin/python3 test/golden/make_conv.py
"""
import torch
import torch.nn.functional as F

from common import save


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def conv_fixture(name, x_shape, w_shape, stride, pads):
    """pads = (top, bottom, left, right), applied with F.pad like the SD-VAE Downsample."""
    x, w, b = rand(*x_shape), rand(*w_shape) * 0.3, rand(w_shape[0])
    xd, wd, bd = (t.double().requires_grad_() for t in (x, w, b))
    top, bottom, left, right = pads
    out = F.conv2d(F.pad(xd, (left, right, top, bottom)), wd, bd, stride=stride)
    dout = rand(*out.shape)
    out.backward(dout.double())
    save(name, {"input": x, "weight": w, "bias": b, "out": out, "dout": dout,
                "dinput": xd.grad, "dweight": wd.grad, "dbias": bd.grad},
         {"stride": stride, "pads": ",".join(map(str, pads))})


def dwconv_fixture(name, x_shape, K):
    C = x_shape[1]
    x, w, b = rand(*x_shape), rand(C, 1, K, K) * 0.3, rand(C)
    xd, wd, bd = (t.double().requires_grad_() for t in (x, w, b))
    out = F.conv2d(xd, wd, bd, padding=K // 2, groups=C)
    dout = rand(*out.shape)
    out.backward(dout.double())
    save(name, {"input": x, "weight": w, "bias": b, "out": out, "dout": dout,
                "dinput": xd.grad, "dweight": wd.grad, "dbias": bd.grad}, {"K": K})


def groupnorm_fixture(name, x_shape, G, eps, silu):
    B, C = x_shape[0], x_shape[1]
    x, w, b = rand(*x_shape) * 2 + 0.5, 1 + 0.2 * rand(C), 0.2 * rand(C)
    xd, wd, bd = (t.double().requires_grad_() for t in (x, w, b))
    out = F.group_norm(xd, G, wd, bd, eps)
    if silu:
        out = F.silu(out)
    dout = rand(*out.shape)
    out.backward(dout.double())
    flat = xd.detach().reshape(B, G, -1)
    mean, var = flat.mean(-1), flat.var(-1, unbiased=False)
    save(name, {"input": x, "weight": w, "bias": b, "out": out, "mean": mean, "rstd": (var + eps).rsqrt(), "dout": dout,
                "dinput": xd.grad, "dweight": wd.grad, "dbias": bd.grad}, {"G": G, "eps": eps, "silu": int(silu)})


def resize_fixture(name, x_shape, sizes):
    x = rand(*x_shape)
    tensors = {"input": x}
    for oh, ow in sizes:
        tensors[f"out_{oh}x{ow}"] = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=True)
    save(name, tensors, {"sizes": ";".join(f"{oh}x{ow}" for oh, ow in sizes)})


if __name__ == "__main__":
    torch.manual_seed(0)
    conv_fixture("conv_conv2d_pad1", (2, 3, 7, 6), (5, 3, 3, 3), 1, (1, 1, 1, 1))
    conv_fixture("conv_conv2d_stride2_asym", (2, 4, 9, 8), (6, 4, 3, 3), 2, (0, 1, 0, 1))
    conv_fixture("conv_conv2d_stem4", (1, 3, 16, 16), (8, 3, 4, 4), 4, (0, 0, 0, 0))
    dwconv_fixture("conv_dwconv7", (2, 8, 10, 9), 7)
    groupnorm_fixture("conv_groupnorm", (2, 32, 6, 5), 8, 1e-6, False)
    groupnorm_fixture("conv_groupnorm_silu", (2, 32, 6, 5), 8, 1e-6, True)
    resize_fixture("conv_resize_bilinear", (2, 3, 7, 5), [(12, 9), (4, 3), (1, 4), (7, 1), (32, 32)])
