"""Golden fixture: one DUSA step (DESIGN 2.1, BIT-DA/DUSA's DiTTopKMultinomialReplaceOriFP16.forward) in PyTorch.

Narrow ConvNeXt + VAE encoder + SiT (or DiT) with random weights, run in float64. The class selection and the
noise are drawn by torch here and stored (`selected`, `eps`); the TS test injects them, so this checks how the
step composes the ops (their own randomness is tested against the Philox references). Stored: every parameter
(task./vae./gen. + param.<name>), inputs, logits, weights, terms = [total, mse, norm_l2, cosine], the gradients of
total / accumulate for all task and generative parameters (not the label table or pos_embed), and both models'
parameters after one Adam step (lr 1e-3).

Run: /usr/bin/python3 test/golden/make_dusa_step.py
"""
import json

import torch
import torch.nn.functional as F

from common import save
from make_models import randomize
from ref_models.convnext import ConvNeXt
from ref_models.sit import SiT
from ref_models.vae import AutoencoderKL

B, TOPK, RAND, TEMP = 3, 2, 2, 1.0
K = TOPK + RAND
LOSS = {"mse": 1.0, "norm_l2": 0.5, "cosine": 0.25}
ACCUMULATE, LR = 2, 1e-3


def ddpm_coefficients(t):
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0)[t]
    return abar.sqrt().item(), (1 - abar).sqrt().item()


def make(family, seed):
    torch.manual_seed(seed)
    task_cfg = dict(in_chans=1, num_classes=10, depths=[1, 1, 1, 1], dims=[8, 8, 16, 16], stem_patch=2)
    vae_cfg = dict(in_channels=1, out_channels=1, latent_channels=4, block_out_channels=[8, 16, 16], layers_per_block=1,
                   norm_num_groups=4, scaling_factor=0.5, with_decoder=False)
    gen_cfg = dict(input_size=4, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=4, num_classes=10,
                   learn_sigma=family == "dit", dit=family == "dit")
    task, vae, gen = ConvNeXt(**task_cfg), AutoencoderKL(**vae_cfg), SiT(**gen_cfg)
    for m in (task, vae, gen):
        randomize(m)
        m.float()
    params = {}
    for prefix, m in (("task", task), ("vae", vae), ("gen", gen)):
        for n, p in m.state_dict().items():
            params[f"{prefix}.param.{n}"] = p.detach().clone()
    task, vae, gen = task.double().eval(), vae.double().eval(), gen.double().eval()

    x_task = torch.randn(B, 1, 16, 16, dtype=torch.float32).double()
    x_aux = (torch.rand(B, 1, 16, 16, dtype=torch.float32) * 2 - 1).double()
    eps = torch.randn(B, 4, 4, 4, dtype=torch.float32).double()
    t = 0.25 if family == "sit" else 100

    # task forward, normalised logits, DUSA's class selection (top-k + multinomial over the rest)
    for p in task.parameters():
        p.requires_grad_(True)
    logits = task(x_task)
    normed = F.normalize(logits, p=2, dim=-1)
    topk_logits, topk_idx = torch.topk(normed.detach(), TOPK)
    non_topk = torch.topk(normed.detach(), 10 - TOPK, largest=False).indices
    probs = F.softmax(logits.detach().gather(1, non_topk) / TEMP, dim=-1)
    rand_idx = non_topk.gather(1, torch.multinomial(probs, RAND))
    selected = torch.cat([topk_idx, rand_idx], dim=1)  # (B, K)
    w = F.softmax(normed.gather(1, selected), dim=-1)

    # latent, noised latent, target
    with torch.no_grad():
        z0 = vae.encode_mean(x_aux)
    a, b = (1 - t, t) if family == "sit" else ddpm_coefficients(t)
    xt = a * z0 + b * eps
    target = eps - z0 if family == "sit" else eps

    # generative model on B*K samples
    trainable = [p for n, p in gen.named_parameters() if not n.startswith("y_embedder") and n != "pos_embed"]
    for p in trainable:
        p.requires_grad_(True)
    xt_rep = xt.repeat_interleave(K, dim=0)
    t_rep = torch.full((B * K,), t, dtype=torch.float64 if family == "sit" else torch.long)
    pred = gen(xt_rep, t_rep, selected.reshape(-1))[:, :4].reshape(B, K, 4, 4, 4)
    pw = torch.einsum("bk,bkchw->bchw", w, pred)
    e = ((pw - target) ** 2).flatten(1).mean(1)
    mse = F.mse_loss(pw, target)
    norm_l2 = (e / (e + 1e-3).sqrt().detach()).mean()
    cosine = (1 - F.cosine_similarity(pw.flatten(1), target.flatten(1), dim=1)).mean()
    total = LOSS["mse"] * mse + LOSS["norm_l2"] * norm_l2 + LOSS["cosine"] * cosine
    (total / ACCUMULATE).backward()

    grads = {}
    for prefix, m, keep in (("task", task, lambda n: True), ("gen", gen, lambda n: not n.startswith("y_embedder") and n != "pos_embed")):
        for n, p in m.named_parameters():
            if keep(n):
                grads[f"{prefix}.grad.{n}"] = p.grad.detach().clone()

    # one Adam step on both models (torch.optim.Adam, float64)
    opt = torch.optim.Adam(list(task.parameters()) + trainable, lr=LR, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    updated = {}
    for prefix, m, keep in (("task", task, lambda n: True), ("gen", gen, lambda n: not n.startswith("y_embedder") and n != "pos_embed")):
        for n, p in m.named_parameters():
            if keep(n):
                updated[f"{prefix}.updated.{n}"] = p.detach().clone()

    meta = {"task": task_cfg, "vae": vae_cfg, "gen": gen_cfg, "family": family, "t": t, "topk": TOPK, "rand_budget": RAND,
            "loss": LOSS, "accumulate": ACCUMULATE, "lr": LR}
    save(f"dusa_step_{family}", {
        **params, "x_task": x_task, "x_aux": x_aux, "eps": eps, "selected": selected.int(), "logits": logits, "weights": w,
        "z0": z0, "terms": torch.stack([total, mse, norm_l2, cosine]), **grads, **updated,
    }, {"config": json.dumps(meta)})


if __name__ == "__main__":
    make("sit", 20261125)
    make("dit", 20261126)
