"""The step bench's other measurements on the PyTorch side: each model alone, SDPA at the two attention shapes, GEMM
ceilings, parity with ours' outputs, and the largest micro-batch (binary search on torch.cuda.OutOfMemoryError)."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import full_models as fm
import st_io
from full_step import K, Step, autocast, set_mode, timed

def measure_components(bench, m, mode):
    """Each model alone: task and VAE at B images, generative models at B*K samples; fwd (no grad) and fwd+bwd (all params)."""
    set_mode(mode)
    a, dev, c = bench.a, bench.dev, fm.configs(bench.a.preset)
    B, N = a.batch, a.batch * K
    inputs = {
        "convnext": (m["task"], lambda: (torch.randn(B, c["task"]["in_chans"], c["task"]["image_size"], c["task"]["image_size"], device=dev),), B),
        "vae enc": (m["vae"], lambda: (torch.rand(B, c["vae"]["in_channels"], c["vae"]["image_size"], c["vae"]["image_size"], device=dev) * 2 - 1,), B),
    }
    for g in ("sit", "dit"):
        s = c[g]["input_size"]
        inputs[g] = (m[g], lambda s=s, g=g: (torch.randn(N, 4, s, s, device=dev), torch.full((N,), 100.0 if g == "dit" else 0.25, device=dev),
                                                        torch.randint(0, c[g]["num_classes"], (N,), device=dev)), N)
    for name, (model, make, n) in inputs.items():
        fwd = model.encode_mean if name == "vae enc" else model
        args = make()

        def forward():
            with torch.no_grad(), autocast(bench, mode):
                fwd(*args)

        params = [p for pn, p in model.named_parameters() if not pn.startswith("y_embedder") and pn != "pos_embed"]
        for p in params:
            p.requires_grad_(True)

        def train():
            with autocast(bench, mode):
                out = fwd(*args)
            out.float().square().mean().backward()
            for p in params:
                p.grad = None

        try:
            bench.out["components"].append({"model": name, "pass": "fwd", "mode": mode, "batch": n, "ms": timed(bench, forward)})
            bench.out["components"].append({"model": name, "pass": "fwd+bwd", "mode": mode, "batch": n, "ms": timed(bench, train)})
        finally:
            for p in params:
                p.requires_grad_(False)
                p.grad = None


def measure_attention(bench, mode):
    if not hasattr(F, "scaled_dot_product_attention"):
        raise RuntimeError(f"torch {torch.__version__} has no F.scaled_dot_product_attention")
    set_mode(mode)
    c, a = fm.configs(bench.a.preset), bench.a
    s, v = c["sit"], c["vae"]
    f = 2 ** (len(v["block_out"]) - 1)
    dtype = torch.float32 if mode == "fp32" else torch.bfloat16
    for (B, H, T, d) in [(a.batch * K, s["heads"], (s["input_size"] // s["patch_size"]) ** 2, s["hidden"] // s["heads"]), (a.batch, 1, (v["image_size"] // f) ** 2, v["block_out"][-1])]:
        q, k, vv = (torch.randn(B, H, T, d, device=bench.dev, dtype=dtype, requires_grad=True) for _ in range(3))
        dout = torch.randn(B, H, T, d, device=bench.dev, dtype=dtype)

        def fwd():
            with torch.no_grad():
                F.scaled_dot_product_attention(q, k, vv)

        def fwdbwd():
            F.scaled_dot_product_attention(q, k, vv).backward(dout)

        flops = 4 * B * H * T * T * d
        tf, tb = timed(bench, fwd, 2, 10), timed(bench, fwdbwd, 2, 10)
        bench.out["attention"].append({"shape": f"B {B} x {H} heads, T {T}, d {d}", "mode": mode, "fwd_ms": tf, "fwd_tflops": flops / tf / 1e9,
                                       "fwdbwd_ms": tb, "fwdbwd_tflops": 3 * flops / tb / 1e9})


def gemm_ceilings(bench):
    n = 8192 if bench.cuda else 1024
    out = {}
    for name, dtype, tf32 in [("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)]:
        if not bench.cuda and name != "fp32":
            continue
        torch.backends.cuda.matmul.allow_tf32 = tf32
        x, y = (torch.randn(n, n, device=bench.dev, dtype=dtype) for _ in range(2))
        ms = timed(bench, lambda: x @ y, 2, 10)
        out[name] = {"n": n, "ms": ms, "tflops": 2 * n**3 / ms / 1e9}
    bench.out["ceilings"] = out


def check_parity(bench, m, weights):
    """Our fp32 outputs on our fixed inputs against these modules (fp32 and bf16): ||ours - torch|| / ||torch||."""
    set_mode("fp32")
    p = {k: torch.from_numpy(np.array(v)).to(bench.dev) for k, v in st_io.read(os.path.join(weights, "parity.safetensors")).items()}
    rel = lambda ours, ref: float((ours.float() - ref.float()).norm() / ref.float().norm().clamp_min(1e-30))  # noqa: E731
    out = {}
    for mode in ("fp32", "bf16"):
        with torch.no_grad(), autocast(bench, mode):
            r = {"logits": rel(p["logits"], m["task"](p["x"])), "z0": rel(p["z0"], m["vae"].encode_mean(p["aux"]))}
            for g in ("sit", "dit"):
                r[f"{g}.pred"] = rel(p[f"{g}.pred"], m[g](p[f"{g}.xt"], p[f"{g}.t"], p[f"{g}.y"].long()))
        out[mode] = r
    bench.out["parity"] = out
    print(f"  parity (ours vs torch, relative): {json.dumps(out)}", file=sys.stderr, flush=True)


def search_max_batch(bench, m, mode, variant="sit-all-aux", budget=120.0):
    """Doubling from B, then bisection; a probe is one step with its update at batch B."""
    set_mode(mode)
    m["dit"].to("cpu")  # hold on the device what the official step holds: task, VAE, SiT
    bench.free()
    try:
        _search(bench, m, mode, variant, budget)
    finally:
        m["dit"].to(bench.dev)


def _search(bench, m, mode, variant, budget):
    deadline, probes = time.time() + min(budget, bench.left()), []
    lo, hi, B = 0, None, bench.a.batch
    while time.time() < deadline:
        ok, err, t0 = True, None, time.time()
        step = None
        try:
            step = Step(bench, m, variant, mode, B)
            step(*step.inputs())
            bench.sync()
        except torch.cuda.OutOfMemoryError as e:
            ok, err = False, str(e).split("\n")[0][:200]
        finally:
            if step is not None:
                step.release()
            step = None
            bench.free()
        probes.append({"B": B, "ok": ok, "seconds": time.time() - t0, "error": err})
        print(f"  max-batch {mode} B {B}: {'fits' if ok else 'out of memory'}", file=sys.stderr, flush=True)
        if ok:
            lo = B
        else:
            hi = B
        nxt = 2 * B if hi is None else (lo + hi) // 2
        if nxt <= lo or (hi is not None and nxt >= hi) or nxt > 4096:
            break
        B = nxt
    bench.out.setdefault("max_batch", {})[mode] = {"variant": variant, "max": lo, "first_fail": hi, "complete": hi is not None and hi - lo <= 1, "probes": probes}


