"""The adaptation step of bun bench step, in PyTorch eager (float32, 2 threads by default), for same-run ratios.

One (method, batch) per process so ru_maxrss is that variant's peak RSS. Prints one JSON line:
{"method", "batch", "img_s", "ms", "peak_rss_mib"}. Models: the tiny Fashion-MNIST presets built from
test/golden/ref_models (the same modules the parity fixtures come from), random weights.

Run: /usr/bin/python3 bench/pytorch/step.py --method dusa-all-aux --batch 64 [--steps 10] [--threads 2]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "golden"))
from ref_models.convnext import ConvNeXt  # noqa: E402
from ref_models.sit import SiT  # noqa: E402
from ref_models.vae import AutoencoderKL  # noqa: E402

METHODS = ["source", "tent", "dusa-all-aux", "dusa-norm-aux", "dusa-all-frozen"]
TOPK, RAND, T = 4, 2, 0.25


def models():
    task = ConvNeXt(in_chans=1, num_classes=10, depths=[2, 2, 4, 2], dims=[32, 64, 128, 256], stem_patch=2)
    vae = AutoencoderKL(in_channels=1, out_channels=1, latent_channels=4, block_out_channels=[32, 64, 64], layers_per_block=1,
                        norm_num_groups=8, scaling_factor=0.5, with_decoder=False)
    gen = SiT(input_size=8, patch_size=2, in_channels=4, hidden_size=256, depth=6, num_heads=4, num_classes=10)
    for m in (task, vae, gen):
        m.eval()
    return task, vae, gen


def norm_params(model):
    return [p for n, p in model.named_parameters() if "norm" in n or n.startswith("stem.1") or ".downsample.0." in n]


def dusa_step(task, vae, gen, x, aux, adapt_aux):
    logits = task(x)
    normed = F.normalize(logits, dim=-1)
    topk_idx = torch.topk(normed.detach(), TOPK).indices
    non_topk = torch.topk(normed.detach(), 10 - TOPK, largest=False).indices
    probs = F.softmax(logits.detach().gather(1, non_topk), dim=-1)
    selected = torch.cat([topk_idx, non_topk.gather(1, torch.multinomial(probs, RAND))], dim=1)
    w = F.softmax(normed.gather(1, selected), dim=-1)
    with torch.no_grad():
        z0 = vae.encode_mean(aux)
    eps = torch.randn_like(z0)
    xt = ((1 - T) * z0 + T * eps).repeat_interleave(TOPK + RAND, dim=0)
    t = torch.full((xt.shape[0],), T)
    # a frozen generative model runs without autograd: the task model's gradient needs only <dL/dp_w, p_k>
    with torch.enable_grad() if adapt_aux else torch.no_grad():
        pred = gen(xt, t, selected.reshape(-1)).reshape(x.shape[0], TOPK + RAND, *z0.shape[1:])
    pw = torch.einsum("bk,bkchw->bchw", w, pred)
    return logits, F.mse_loss(pw, eps - z0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", choices=METHODS, required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    task, vae, gen = models()
    for p in list(vae.parameters()):
        p.requires_grad_(False)
    m = a.method
    trainable = []
    if m == "tent" or m == "dusa-norm-aux":
        for p in task.parameters():
            p.requires_grad_(False)
        trainable += norm_params(task)
        for p in trainable:
            p.requires_grad_(True)
    elif m in ("dusa-all-aux", "dusa-all-frozen"):
        trainable += list(task.parameters())
    else:
        for p in task.parameters():
            p.requires_grad_(False)
    adapt_aux = m in ("dusa-all-aux", "dusa-norm-aux")
    gen_trainable = [p for n, p in gen.named_parameters() if not n.startswith("y_embedder") and n != "pos_embed"]
    for p in gen.parameters():
        p.requires_grad_(False)
    if adapt_aux:
        for p in gen_trainable:
            p.requires_grad_(True)
        trainable += gen_trainable
    opt = torch.optim.Adam(trainable, lr=1e-4) if trainable else None

    def step(i):
        g = torch.Generator().manual_seed(100 + i)
        x = torch.randn(a.batch, 1, 32, 32, generator=g)
        aux = torch.rand(a.batch, 1, 32, 32, generator=g) * 2 - 1
        if m == "source":
            with torch.no_grad():
                task(x).argmax(1)
            return
        if m == "tent":
            logits = task(x)
            p = logits.softmax(1)
            loss = -(p * logits.log_softmax(1)).sum(1).mean()
        else:
            logits, loss = dusa_step(task, vae, gen, x, aux, adapt_aux)
        logits.detach().argmax(1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(0)
    step(1)
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        step(i + 2)
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": m, "batch": a.batch, "img_s": a.batch / med, "ms": 1000 * med, "peak_rss_mib": rss, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
