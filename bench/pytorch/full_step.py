"""The DUSA step of bench/full/step.ts in plain PyTorch, and its timing: the bench's state (device, time budget,
JSON results, one job at a time with its failure caught), the precision modes, and one micro-batch split into the
same phases as ours. Used by step_full.py (the CLI) and full_measure.py (the other measurements)."""
import contextlib
import gc
import json
import math
import resource
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn.functional as F

import full_models as fm

TOPK, RAND = 4, 2
K = TOPK + RAND
VARIANTS = {  # id: (generative model, adapt.task, adapt.aux)
    "sit-all-aux": ("sit", "all", True),
    "sit-norm-aux": ("sit", "norm", True),
    "sit-all-frozen": ("sit", "all", False),
    "dit-all-aux": ("dit", "all", True),
}


class Bench:
    def __init__(self, a):
        self.a, self.dev = a, torch.device(a.device)
        self.cuda = self.dev.type == "cuda"
        self.deadline = time.time() + a.budget
        self.out = {"side": "pytorch", "torch": torch.__version__, "device": self.device_name(), "preset": a.preset, "B": a.batch, "K": K,
                    "steps": a.steps, "errors": {}, "step": [], "components": [], "attention": []}

    def device_name(self):
        return torch.cuda.get_device_name(self.dev) if self.cuda else f"cpu ({torch.get_num_threads()} threads)"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.dev)

    def save(self):
        if self.a.json:
            with open(self.a.json, "w") as f:
                json.dump(self.out, f, indent=2)

    def left(self):
        return self.deadline - time.time()

    def job(self, name, fn):
        """Runs one job, catching its failure (recorded under errors) so the others still run."""
        if self.left() <= 0:
            self.out["errors"][name] = "skipped: out of time budget"
            return None
        t0 = time.time()
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the bench
            self.out["errors"][name] = f"{type(e).__name__}: {str(e)[:1500]}"
            traceback.print_exc(limit=3)
            return None
        finally:
            print(f"[{name}: {time.time() - t0:.1f} s]", file=sys.stderr, flush=True)
            self.free()
            self.save()

    def free(self):
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()

    def peak(self):
        if self.cuda:
            return torch.cuda.max_memory_allocated(self.dev)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def reset_peak(self):
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.dev)


def set_mode(mode):
    """fp32: true fp32 everywhere (as ours). bf16 and compile: autocast bf16 with TF32 for what stays fp32."""
    tf32 = mode != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def autocast(bench, mode):
    if mode == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(bench.dev.type, dtype=torch.bfloat16)


def ddpm(t):
    betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
    abar = np.cumprod(1 - betas)[t]
    return math.sqrt(abar), math.sqrt(1 - abar)


class Step:
    """One DUSA micro-batch, split at w and at the predictions as ours is: the loss's gradients to the weights and to
    each prediction first, then the task model's backward through w, then the generative model's through its outputs."""

    def __init__(self, bench, m, variant, mode, B):
        self.bench, self.mode, self.B = bench, mode, B
        gen_name, adapt_task, self.adapt_aux = VARIANTS[variant]
        self.task, self.vae, self.gen = m["task"], m["vae"], m[gen_name]
        self.dit = gen_name == "dit"
        self.t = 100.0 if self.dit else 0.25
        self.coef = ddpm(100) if self.dit else (1 - self.t, self.t)
        names = set(fm.norm_param_names(self.task)) if adapt_task == "norm" else None
        train = [p for n, p in self.task.named_parameters() if names is None or n in names]
        if self.adapt_aux:
            train += fm.aux_trainable(self.gen)
        for p in train:
            p.requires_grad_(True)
        self.trainable = train
        self.opt = torch.optim.Adam(train, lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
        self.run = {"task": self.task, "vae": self.vae.encode_mean, "gen": self.gen}
        if mode == "compile":  # each model's forward compiled on its own (the VAE's is encode_mean)
            self.run = {k: torch.compile(v) for k, v in self.run.items()}
        c = fm.configs(bench.a.preset)
        self.task_shape = (c["task"]["in_chans"], c["task"]["image_size"])
        self.vae_shape = (c["vae"]["in_channels"], c["vae"]["image_size"])
        self.classes = c["task"]["num_classes"]
        self.phases = {}

    def release(self):
        for p in self.trainable:
            p.requires_grad_(False)
            p.grad = None
        self.opt = None

    def lap(self, name, t0):
        self.bench.sync()
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0) + 1000 * (now - t0)
        return now

    def inputs(self):
        """Fresh random images (task N(0, 1), VAE U(-1, 1)), drawn outside the timed step as ours does."""
        b, B = self.bench, self.B
        x = torch.randn(B, self.task_shape[0], self.task_shape[1], self.task_shape[1], device=b.dev)
        return x, torch.rand(B, self.vae_shape[0], self.vae_shape[1], self.vae_shape[1], device=b.dev) * 2 - 1

    def __call__(self, x, aux):
        b, B = self.bench, self.B
        b.sync()
        t0 = time.perf_counter()
        with autocast(b, self.mode):
            logits = self.run["task"](x)
        logits = logits.float()
        t0 = self.lap("task_fwd", t0)
        normed = F.normalize(logits, dim=-1)
        nd = normed.detach()
        top = nd.topk(TOPK, dim=-1).indices
        probs = torch.softmax(logits.detach(), dim=-1).scatter(1, top, 0.0)  # temperature 1, top-k excluded
        selected = torch.cat([top, torch.multinomial(probs, RAND)], dim=1)  # (B, K), without replacement
        w = torch.softmax(normed.gather(1, selected), dim=-1)
        t0 = self.lap("select", t0)
        with torch.no_grad(), autocast(b, self.mode):
            z0 = self.run["vae"](aux)
        z0 = z0.float()
        t0 = self.lap("vae", t0)
        eps = torch.randn_like(z0)
        xt = self.coef[0] * z0 + self.coef[1] * eps
        target = eps if self.dit else eps - z0
        xrep = xt.repeat_interleave(K, dim=0)
        tt = torch.full((B * K,), self.t, device=b.dev)
        with (torch.enable_grad() if self.adapt_aux else torch.no_grad()), autocast(b, self.mode):
            pred = self.run["gen"](xrep, tt, selected.reshape(-1))
        pred = pred[:, : z0.shape[1]].float().reshape(B, K, *z0.shape[1:])
        t0 = self.lap("gen_fwd", t0)
        w_leaf = w.detach().requires_grad_(True)
        p_leaf = pred.detach().requires_grad_(self.adapt_aux)
        loss = F.mse_loss(torch.einsum("bk,bkchw->bchw", w_leaf, p_leaf), target)
        loss.backward()
        t0 = self.lap("loss", t0)
        w.backward(w_leaf.grad)
        t0 = self.lap("task_bwd", t0)
        if self.adapt_aux:
            pred.backward(p_leaf.grad)
            t0 = self.lap("gen_bwd", t0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.lap("optimizer", t0)
        return float(loss)


def bytes_of(params):
    return sum(p.numel() * p.element_size() for p in params)


def measure_step(bench, m, variant, mode):
    a = bench.a
    set_mode(mode)
    step = Step(bench, m, variant, mode, a.batch)
    try:
        for _ in range(a.warmup):
            step(*step.inputs())
        step.phases = {}
        bench.sync()
        bench.reset_peak()
        times, loss = [], None
        for _ in range(a.steps):
            x, aux = step.inputs()
            bench.sync()
            t0 = time.perf_counter()
            loss = step(x, aux)
            bench.sync()
            times.append(1000 * (time.perf_counter() - t0))
        med = sorted(times)[len(times) // 2]
        every = [p for mod in m.values() for p in mod.parameters()]
        n_train = bytes_of(step.trainable)
        row = {"id": variant, "mode": mode, "B": a.batch, "steps": a.steps, "img_s": 1000 * a.batch / med, "ms_step": med,
               "ms_mean": sum(times) / len(times), "phases": {k: v / a.steps for k, v in step.phases.items()}, "loss": loss,
               "peak_bytes": {"total": bench.peak(), "params_all_models": bytes_of(every), "grads": n_train, "optim": 2 * n_train}}
        bench.out["step"].append(row)
        print(f"  {variant} {mode}: {row['img_s']:.2f} img/s, {med:.1f} ms/step, peak {row['peak_bytes']['total'] / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    finally:
        step.release()



def timed(bench, fn, warmup=1, runs=5):
    for _ in range(warmup):
        fn()
    bench.sync()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        bench.sync()
        ts.append(1000 * (time.perf_counter() - t0))
    return sorted(ts)[len(ts) // 2]


