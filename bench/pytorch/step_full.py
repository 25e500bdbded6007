"""The full-size DUSA step of bench/full/step.ts in plain PyTorch, for same-run ours/PyTorch ratios.

Models: bench/pytorch/full_models.py (test/golden/ref_models with the public parameter names, fast attention and
LayerNorm2d). Weights: --weights DIR loads ours' safetensors (bench/full/step.ts --save-weights DIR) and first checks
parity on ours' fixed inputs; without it the weights are drawn here (--save-weights DIR writes them).
Modes: fp32 (TF32 off, as ours), bf16 (autocast, fp32 master weights, TF32 on), compile (bf16 + torch.compile of each
model; a failure is caught and reported). Variants (ids shared with ours): sit-all-aux (official), sit-norm-aux,
sit-all-frozen, dit-all-aux. Per (mode, variant): images/s (median of --steps timed steps after --warmup, synchronized),
ms per phase (synchronized at each boundary), peak memory (torch.cuda.max_memory_allocated). Also each model's
forward / forward+backward alone, SDPA at the two attention shapes, GEMM ceilings, and the largest micro-batch that
fits (binary search on torch.cuda.OutOfMemoryError). Results are JSON (--json, rewritten after every job).

Run (GPU): python3 bench/pytorch/step_full.py --device cuda --preset full --weights /tmp/w --json out.json
Run (CPU test): /usr/bin/python3 bench/pytorch/step_full.py --device cpu --preset tiny --weights /tmp/w --steps 3
"""
import argparse
import json
import os
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repository (or in the tree a device call sends)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import full_models as fm  # noqa: E402
from full_measure import check_parity, gemm_ceilings, measure_attention, measure_components, search_max_batch  # noqa: E402
from full_step import VARIANTS, Bench, measure_step  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--preset", choices=["full", "tiny"], default="full")
    ap.add_argument("--weights", help="ours' safetensors folder (bench/full/step.ts --save-weights)")
    ap.add_argument("--save-weights", help="write the weights drawn here to this folder")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--modes", default="fp32,bf16,compile")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--compile-variants", default="sit-all-aux", help="variants timed in compile mode (compiling is slow)")
    ap.add_argument("--sections", default="parity,ceiling,step,components,attention,maxbatch")
    ap.add_argument("--max-batch-modes", default="fp32,bf16")
    ap.add_argument("--search-budget", type=float, default=120, help="seconds per max-batch search")
    ap.add_argument("--budget", type=float, default=1e9, help="seconds for everything: jobs past it are skipped")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    bench = Bench(a)
    sections, modes = set(a.sections.split(",")), a.modes.split(",")
    bench.out["fast_paths"] = fm.use_fast_paths()
    if not bench.cuda:
        fm.cpu_autocast_norms()
        bench.out["fast_paths"].append("norms in fp32 under CPU autocast")
    t0 = time.time()
    m = fm.models(a.preset, bench.dev, weights=a.weights, save=a.save_weights)
    print(f"[models: {time.time() - t0:.1f} s]", file=sys.stderr, flush=True)
    if "parity" in sections and a.weights:
        bench.job("parity", lambda: check_parity(bench, m, a.weights))
    if "ceiling" in sections:
        bench.job("ceiling", lambda: gemm_ceilings(bench))
    eager = [x for x in modes if x != "compile"]
    if "step" in sections:
        for mode in eager:
            for v in a.variants.split(","):
                bench.job(f"step {v} {mode}", lambda v=v, mode=mode: measure_step(bench, m, v, mode))
    for mode in eager:
        if "components" in sections:
            bench.job(f"components {mode}", lambda mode=mode: measure_components(bench, m, mode))
        if "attention" in sections:
            bench.job(f"attention {mode}", lambda mode=mode: measure_attention(bench, mode))
    if "maxbatch" in sections and bench.cuda:
        for mode in a.max_batch_modes.split(","):
            bench.job(f"maxbatch {mode}", lambda mode=mode: search_max_batch(bench, m, mode, budget=a.search_budget))
    if "step" in sections and "compile" in modes:  # last: compiling the three models can take minutes
        for v in [x for x in a.compile_variants.split(",") if x in a.variants.split(",")]:
            if not hasattr(torch, "compile"):
                bench.out["errors"][f"step {v} compile"] = f"torch {torch.__version__} has no torch.compile"
                continue
            bench.job(f"step {v} compile", lambda v=v: measure_step(bench, m, v, "compile"))
    bench.save()
    print(json.dumps({k: v for k, v in bench.out.items() if k in ("step", "errors", "max_batch")})[:4000])


if __name__ == "__main__":
    main()
