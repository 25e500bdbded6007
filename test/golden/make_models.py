"""Golden model fixtures: ConvNeXt, SiT / DiT and the VAE (test/golden/ref_models/), forward + backward.

Weights are random (fixed seeds) but not the zero / 1e-6 inits of the originals, so every path contributes:
linear/conv weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1^2), norm weights 1 + N(0, 0.1^2), ConvNeXt gamma
0.3 + N(0, 0.1^2), adaLN weights ~ N(0, 0.25/fan_in), label table ~ N(0, 0.5^2), pos_embed the fixed sin-cos.
Weights and inputs are drawn in float32; the model then runs in float64, so each stored output/gradient (rounded
to float32) is the exact answer for the stored float32 weights and inputs.

Each model_<name>.safetensors holds param.<name> (every parameter / state-dict tensor), the inputs (x; t, y for
SiT/DiT; z for the decoder), out, dout, dx (dz), grad.<name>, and act.<module> (intermediate outputs, for
debugging). Metadata: config (JSON), note. Also writes model_sincos (pos embed / timestep embedding tables),
model_param_counts (full-size counts, asserted against the published figures) and model_keys_<name>.json
(state-dict key lists of the full-size models). See test/golden/MODELS.md.

Run: /usr/bin/python3 test/golden/make_models.py   (about a minute; builds the full-size models in memory)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import DATA_DIR, save
from ref_models.convnext import ConvNeXt, LayerNorm2d
from ref_models.sit import SiT, DiT, get_2d_sincos_pos_embed, timestep_embedding
from ref_models import sit as sit_mod
from ref_models import vae as vae_mod
from ref_models.vae import AutoencoderKL

SEED = 20261124
MAX_FILE, MAX_TOTAL = 600_000, 5_000_000
written = []


def out_file(name):
    path = os.path.join(DATA_DIR, name + ".safetensors")
    written.append(path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# random, non-trivial weights
# ---------------------------------------------------------------------------------------------------------------
def randomize(model):
    norms = (nn.LayerNorm, nn.GroupNorm, LayerNorm2d)
    with torch.no_grad():
        for mname, m in model.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()
                gain = 0.5 if "adaLN_modulation" in mname else 1.0
                m.weight.copy_(torch.randn_like(m.weight) * gain / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(torch.randn_like(m.bias) * 0.1)
            elif isinstance(m, norms) and getattr(m, "weight", None) is not None:
                m.weight.copy_(1 + 0.1 * torch.randn_like(m.weight))
                m.bias.copy_(0.1 * torch.randn_like(m.bias))
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(0.5 * torch.randn_like(m.weight))
            if getattr(m, "gamma", None) is not None and isinstance(m.gamma, nn.Parameter):
                m.gamma.copy_(0.3 + 0.1 * torch.randn_like(m.gamma))


def record(model, names):
    """Forward hooks that keep the outputs of the named submodules; returns (acts dict, handles)."""
    acts, handles, mods = {}, [], dict(model.named_modules())
    for n in names:
        handles.append(mods[n].register_forward_hook(lambda mod, inp, out, n=n: acts.__setitem__("act." + n, out.detach())))
    return acts, handles


def zero_key_bias_grads(grads, dim=None):
    """Softmax is invariant to a per-query constant, so the key bias gets exactly zero gradient; autograd leaves
    ~1e-16 round-off there. Store the exact zero (VAE to_k.bias; the k third of SiT/DiT qkv.bias)."""
    for k, g in grads.items():
        part = g if k.endswith("to_k.bias") else g[dim:2 * dim] if k.endswith("attn.qkv.bias") else None
        if part is not None:
            assert part.abs().max() < 1e-12 * g.abs().max().clamp(min=1), k
            part.zero_()


def check_grads(name, grads, params):
    """Every dumped gradient must be non-zero and not negligible next to its parameter (key biases excepted)."""
    grads = {k: g for k, g in grads.items() if not k.endswith("to_k.bias")}
    worst = min(grads, key=lambda k: grads[k].norm().item() / (params[k].norm().item() + 1e-12))
    for k, g in grads.items():
        assert torch.isfinite(g).all() and g.norm() > 0, f"{name}: zero or non-finite gradient for {k}"
    ratio = grads[worst].norm().item() / (params[worst].norm().item() + 1e-12)
    print(f"  {name}: {len(grads)} param grads, smallest |grad|/|param| {ratio:.2e} ({worst})")


def finish(name, tensors, config, note):
    path = out_file("model_" + name)
    save("model_" + name, tensors, {"config": json.dumps(config), "note": note})
    size = os.path.getsize(path)
    assert size < MAX_FILE, f"{path}: {size} bytes >= {MAX_FILE}"


# ---------------------------------------------------------------------------------------------------------------
# ConvNeXt
# ---------------------------------------------------------------------------------------------------------------
def convnext_fixture(name, seed, cfg, input_shape):
    torch.manual_seed(seed)
    model = ConvNeXt(**cfg)
    randomize(model)
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x32 = torch.randn(*input_shape)
    model.double()
    acts, hs = record(model, ["stem"] + [f"stages.{i}" for i in range(len(cfg["depths"]))])
    x = x32.double().requires_grad_(True)
    out = model(x)
    dout32 = torch.randn(out.shape)
    out.backward(dout32.double())
    grads = {k: p.grad for k, p in model.named_parameters()}
    check_grads(name, grads, {k: v.double() for k, v in params.items()})
    print(f"  {name}: out std {out.std().item():.3f}, dx std {x.grad.std().item():.3e}")
    t = {f"param.{k}": v for k, v in params.items()}
    t.update({"x": x32, "out": out, "dout": dout32, "dx": x.grad})
    t.update({f"grad.{k}": g for k, g in grads.items()})
    t.update(acts)
    finish(name, t, cfg, "timm ConvNeXt; out = logits (B, num_classes); act.stem / act.stages.{s}: NCHW stage outputs")


# ---------------------------------------------------------------------------------------------------------------
# SiT / DiT
# ---------------------------------------------------------------------------------------------------------------
def sit_fixture(name, seed, cfg, batch, t_values, y_values):
    torch.manual_seed(seed)
    model = DiT(**{k: v for k, v in cfg.items() if k != "dit"}) if cfg.get("dit") else SiT(**cfg)
    randomize(model)
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    C, S = cfg["in_channels"], cfg["input_size"]
    x32 = torch.randn(batch, C, S, S)
    t = torch.tensor(t_values, dtype=torch.int32 if cfg.get("dit") else torch.float32)
    y = torch.tensor(y_values, dtype=torch.int64)
    model.double()
    model.y_embedder.embedding_table.weight.requires_grad_(False)  # not adapted: no grads in our design
    names = ["t_embedder", "y_embedder"] + [f"blocks.{i}" for i in range(cfg["depth"])] + ["final_layer"]
    acts, hs = record(model, names)
    x = x32.double().requires_grad_(True)
    out, zs = model(x, t, y, return_zs=True)
    dout32 = torch.randn(out.shape)
    out.backward(dout32.double())
    grads = {k: p.grad for k, p in model.named_parameters()
             if not k.startswith("y_embedder.") and k != "pos_embed" and not k.startswith("projectors.")}
    for k, p in model.named_parameters():
        if k.startswith("projectors."):
            assert p.grad is None  # projector output is not part of `out`
    zero_key_bias_grads(grads, cfg["hidden_size"])
    check_grads(name, grads, {k: v.double() for k, v in params.items()})
    print(f"  {name}: out std {out.std().item():.3f}, dx std {x.grad.std().item():.3e}")
    tf = timestep_embedding(t, 256)
    tf32 = timestep_embedding(t, 256, exact=False)
    print(f"  {name}: t_freq float32-path vs exact: max abs diff {(tf32.double() - tf).abs().max().item():.2e}")
    tensors = {f"param.{k}": v for k, v in params.items()}
    tensors.update({"x": x32, "t": t, "y": y.int(), "out": out, "dout": dout32, "dx": x.grad})
    tensors.update({f"grad.{k}": g for k, g in grads.items()})
    tensors["act.t_freq"] = tf
    tensors["act.t_freq_torch_f32"] = tf32
    tensors["act.c"] = acts["act.t_embedder"] + acts["act.y_embedder"]
    tensors.update(acts)
    for i, z in enumerate(zs):
        tensors[f"act.zs.{i}"] = z
    finish(name, tensors, cfg,
           "REPA SiT / DiT; out = unpatchified prediction (B, out_channels, H, W) (DiT learn_sigma: all 2C channels); "
           "no grads for y_embedder.*, pos_embed, projectors.* (projectors not in out; act.zs.* = their output); "
           "act.t_freq = exact (float64) [cos, sin] embedding used here, act.t_freq_torch_f32 = the original code's "
           "float32 path; act.c = t_emb + y_emb; act.blocks.{i}: (B, T, D) block outputs; act.final_layer: (B, T, p*p*C)")


# ---------------------------------------------------------------------------------------------------------------
# VAE
# ---------------------------------------------------------------------------------------------------------------
def vae_config(cfg):
    return {k: cfg[k] for k in ("in_channels", "out_channels", "latent_channels", "block_out_channels", "layers_per_block",
                                "norm_num_groups", "scaling_factor")}


def vae_encoder_fixture(name, seed, cfg, input_shape):
    torch.manual_seed(seed)
    model = AutoencoderKL(**vae_config(cfg), with_decoder=False)
    randomize(model)
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x32 = torch.randn(*input_shape).clamp(-1, 1)  # images in [-1, 1]
    model.double()
    nb = len(cfg["block_out_channels"])
    acts, hs = record(model, [f"encoder.down_blocks.{i}" for i in range(nb)] + ["encoder.mid_block"])
    with torch.no_grad():
        moments = model.moments(x32.double())
        out = model.encode_mean(x32.double())
    print(f"  {name}: out std {out.std().item():.3f}")
    tensors = {f"param.{k}": v for k, v in params.items()}
    tensors.update({"x": x32, "out": out, "moments": moments})
    tensors.update(acts)
    finish(name, tensors, cfg, "diffusers AutoencoderKL encoder; out = quant_conv(encoder(x))[:, :latent] * scaling_factor; "
                               "moments = quant_conv(encoder(x)) (mean, logvar unclamped); forward only")


def vae_decoder_fixture(name, seed, cfg, z_shape):
    torch.manual_seed(seed)
    model = AutoencoderKL(**vae_config(cfg), with_decoder=True)
    randomize(model)
    keep = lambda k: k.startswith("decoder.") or k.startswith("post_quant_conv.")
    params = {k: v.detach().clone() for k, v in model.state_dict().items() if keep(k)}
    z32 = torch.randn(*z_shape) * cfg["scaling_factor"] * 2
    model.double()
    acts, hs = record(model, ["decoder.conv_in", "decoder.mid_block", "decoder.up_blocks.0"])
    z = z32.double().requires_grad_(True)
    out = model.decode(z)
    dout32 = torch.randn(out.shape)
    out.backward(dout32.double())
    grads = {k: p.grad for k, p in model.named_parameters() if keep(k)}
    zero_key_bias_grads(grads)
    check_grads(name, grads, {k: v.double() for k, v in params.items()})
    print(f"  {name}: out std {out.std().item():.3f}, dz std {z.grad.std().item():.3e}")
    tensors = {f"param.{k}": v for k, v in params.items()}
    tensors.update({"z": z32, "out": out, "dout": dout32, "dz": z.grad})
    tensors.update({f"grad.{k}": g for k, g in grads.items()})
    tensors.update(acts)
    finish(name, tensors, cfg, "diffusers AutoencoderKL decoder; out = decoder(post_quant_conv(z / scaling_factor)); "
                               "params and grads of decoder.* and post_quant_conv.* only")


# ---------------------------------------------------------------------------------------------------------------
# independent checks of the reference modules against known semantics
# ---------------------------------------------------------------------------------------------------------------
def verify_references():
    torch.manual_seed(1)
    # LayerNorm2d (explicit mean/var) == F.layer_norm over the permuted channel dim
    ln = LayerNorm2d(6).double()
    with torch.no_grad():
        ln.weight.normal_(), ln.bias.normal_()
    x = torch.randn(2, 6, 5, 3, dtype=torch.float64) * 3 + 1
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (6,), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(ln(x), ref, atol=1e-12), "LayerNorm2d"

    # timm Attention == explicit per-head softmax and == nn.MultiheadAttention with the same weights
    D, NH, T = 24, 3, 7
    att = sit_mod.Attention(D, NH).double()
    x = torch.randn(2, T, D, dtype=torch.float64)
    W, b = att.qkv.weight, att.qkv.bias
    q, k, v = (x @ W[i * D:(i + 1) * D].T + b[i * D:(i + 1) * D] for i in range(3))
    heads = []
    for h in range(NH):
        s = slice(h * D // NH, (h + 1) * D // NH)
        a = torch.exp(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(D // NH))
        heads.append((a / a.sum(-1, keepdim=True)) @ v[..., s])
    ref = att.proj(torch.cat(heads, -1))
    assert torch.allclose(att(x), ref, atol=1e-12), "timm Attention vs explicit softmax"
    mha = nn.MultiheadAttention(D, NH, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(W), mha.in_proj_bias.copy_(b)
        mha.out_proj.weight.copy_(att.proj.weight), mha.out_proj.bias.copy_(att.proj.bias)
    assert torch.allclose(att(x), mha(x, x, x, need_weights=False)[0], atol=1e-12), "timm Attention vs nn.MultiheadAttention"

    # diffusers VAE attention == group_norm -> 1-head nn.MultiheadAttention -> + residual
    C = 8
    va = vae_mod.Attention(C, 4).double()
    with torch.no_grad():
        for p in va.parameters():
            p.normal_()
    x = torch.randn(2, C, 3, 5, dtype=torch.float64)
    mha = nn.MultiheadAttention(C, 1, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([va.to_q.weight, va.to_k.weight, va.to_v.weight]))
        mha.in_proj_bias.copy_(torch.cat([va.to_q.bias, va.to_k.bias, va.to_v.bias]))
        mha.out_proj.weight.copy_(va.to_out[0].weight), mha.out_proj.bias.copy_(va.to_out[0].bias)
    hn = F.group_norm(x, 4, va.group_norm.weight, va.group_norm.bias, 1e-6).flatten(2).transpose(1, 2)
    ref = mha(hn, hn, hn, need_weights=False)[0].transpose(1, 2).reshape(x.shape) + x
    assert torch.allclose(va(x), ref, atol=1e-12), "VAE attention vs nn.MultiheadAttention"

    # Downsample2D: pad right/bottom by one then stride-2 valid conv == conv with padding that only adds right/bottom
    ds = vae_mod.Downsample2D(3).double()
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    full = F.conv2d(x, ds.conv.weight, ds.conv.bias, stride=2, padding=1)  # pads all sides
    assert ds(x).shape == (1, 3, 4, 4) and not torch.allclose(ds(x), full), "Downsample2D asymmetric pad"
    xp = torch.zeros(1, 3, 9, 9, dtype=torch.float64)
    xp[..., :8, :8] = x
    assert torch.allclose(ds(x), F.conv2d(xp, ds.conv.weight, ds.conv.bias, stride=2), atol=1e-12)

    # 2-D sin-cos pos embed == the closed form (token = row * G + col; [sin(col w), cos(col w), sin(row w), cos(row w)])
    for Dm, G in ((32, 4), (1152, 16), (8, 3)):
        pe = get_2d_sincos_pos_embed(Dm, G)
        q4 = Dm // 4
        omega = 1.0 / 10000 ** (np.arange(q4) / q4)
        ref = np.zeros((G * G, Dm))
        for r in range(G):
            for c in range(G):
                ref[r * G + c] = np.concatenate([np.sin(c * omega), np.cos(c * omega), np.sin(r * omega), np.cos(r * omega)])
        assert np.abs(pe - ref).max() < 1e-12, "pos embed closed form"

    # timestep embedding: [cos(t f), sin(t f)], f_k = 10000^(-k/128)
    t = torch.tensor([0.0, 0.25, 0.9, 100.0, 999.0], dtype=torch.float64)
    f = 10000.0 ** (-torch.arange(128, dtype=torch.float64) / 128)
    assert torch.allclose(timestep_embedding(t, 256), torch.cat([torch.cos(t[:, None] * f), torch.sin(t[:, None] * f)], 1), atol=1e-12)

    # unpatchify: out[n, ch, hi*p + pi, wi*p + qi] = x[n, hi*w + wi, (pi*p + qi)*c + ch]
    m = SiT(input_size=6, patch_size=3, in_channels=2, hidden_size=8, depth=0, num_heads=2, num_classes=3)
    hw, p, c = 2, 3, 2
    x = torch.randn(2, hw * hw, p * p * c, dtype=torch.float64)
    out, ref = m.unpatchify(x), torch.zeros(2, c, hw * p, hw * p, dtype=torch.float64)
    for hi in range(hw):
        for wi in range(hw):
            for pi in range(p):
                for qi in range(p):
                    for ch in range(c):
                        ref[:, ch, hi * p + pi, wi * p + qi] = x[:, hi * hw + wi, (pi * p + qi) * c + ch]
    assert torch.equal(out, ref), "unpatchify"

    # GELU: exact erf form and the tanh approximation
    x = torch.linspace(-6, 6, 101, dtype=torch.float64)
    assert torch.allclose(F.gelu(x), 0.5 * x * (1 + torch.erf(x / math.sqrt(2))), atol=1e-14)
    tanh_ref = 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    assert torch.allclose(F.gelu(x, approximate="tanh"), tanh_ref, atol=1e-14)
    print("reference checks passed (LayerNorm2d, attention x2, Downsample2D, pos embed, timestep embedding, unpatchify, GELU)")


# ---------------------------------------------------------------------------------------------------------------
# sin-cos tables, full-size parameter counts and key lists
# ---------------------------------------------------------------------------------------------------------------
def sincos_fixture():
    tensors, tables = {}, [(8, 4), (32, 4), (256, 4), (1152, 4), (64, 16)]
    for Dm, G in tables:
        tensors[f"pos_embed.d{Dm}_g{G}"] = get_2d_sincos_pos_embed(Dm, G)  # (G*G, D), float64 -> stored float32
    t_sit = torch.tensor([0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 1.0], dtype=torch.float32)
    t_dit = torch.tensor([0, 1, 50, 100, 500, 999], dtype=torch.int32)
    tensors.update({"t_sit": t_sit, "t_freq_sit": timestep_embedding(t_sit, 256), "t_dit": t_dit,
                    "t_freq_dit": timestep_embedding(t_dit, 256)})
    out_file("model_sincos")
    save("model_sincos", tensors, {"note": "pos_embed.d{D}_g{G} = get_2d_sincos_pos_embed(D, G) (float64 rounded to float32); "
                                           "t_freq_* = exact [cos, sin] timestep embedding (dim 256, max_period 10000) of t_*"})


def key_list(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def full_size():
    counts, published = {}, {}

    def n(m):
        return sum(p.numel() for p in m.parameters())

    def dump_keys(name, model, config, groups=None):
        keys = key_list(model)
        doc = {"model": name, "config": config, "num_tensors": len(keys), "num_params": n(model), "keys": keys}
        if groups:
            doc["groups"] = groups
        path = os.path.join(DATA_DIR, f"model_keys_{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        written.append(path)
        print(f"  {name}: {len(keys)} tensors, {n(model):,} params -> {path}")

    cfg = dict(in_chans=3, num_classes=1000, depths=[3, 3, 27, 3], dims=[192, 384, 768, 1536], stem_patch=4)
    m = ConvNeXt(**cfg)
    counts["convnext_large"], published["convnext_large"] = n(m), 197_767_336
    dump_keys("convnext_large", m, cfg)
    del m

    cfg = dict(input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16, mlp_ratio=4.0,
               num_classes=1000, class_dropout_prob=0.1, learn_sigma=True)
    m = DiT(**cfg)
    counts["dit_xl_2"], published["dit_xl_2"] = n(m), 675_129_632
    counts["dit_xl_2_pos_embed"] = m.pos_embed.numel()
    dump_keys("dit_xl_2", m, dict(cfg, dit=True))
    del m

    cfg = dict(input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16, mlp_ratio=4.0,
               num_classes=1000, class_dropout_prob=0.1, learn_sigma=False, z_dims=[768], encoder_depth=8, projector_dim=2048)
    m = SiT(**cfg)
    counts["sit_xl_2_repa"], published["sit_xl_2_repa"] = n(m), 683_242_512
    counts["sit_xl_2_repa_projectors"] = n(m.projectors)
    counts["sit_xl_2_repa_pos_embed"] = m.pos_embed.numel()
    dump_keys("sit_xl_2_repa", m, cfg)
    del m

    cfg = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[128, 256, 512, 512], layers_per_block=2,
               norm_num_groups=32, scaling_factor=0.18215)
    m = AutoencoderKL(**cfg)
    counts["sd_vae_encoder"], published["sd_vae_encoder"] = n(m.encoder), 34_163_592
    counts["sd_vae_quant_conv"], published["sd_vae_quant_conv"] = n(m.quant_conv), 72
    counts["sd_vae_decoder"] = n(m.decoder)
    counts["sd_vae_post_quant_conv"] = n(m.post_quant_conv)
    counts["sd_vae"], published["sd_vae"] = n(m), 83_653_863
    sd = m.state_dict()
    enc = [k for k in sd if k.startswith("encoder.") or k.startswith("quant_conv.")]
    groups = {"encoder+quant_conv": {"num_tensors": len(enc), "num_params": counts["sd_vae_encoder"] + 72},
              "decoder+post_quant_conv": {"num_tensors": len(sd) - len(enc), "num_params": counts["sd_vae_decoder"] + 20},
              "old_attention_names": {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}}
    dump_keys("sd_vae", m, cfg, groups)
    del m

    # the project's tiny presets (computed, no published figure)
    counts["convnext_tiny_fm"] = n(ConvNeXt(in_chans=1, num_classes=10, depths=[2, 2, 4, 2], dims=[32, 64, 128, 256], stem_patch=2))
    counts["sit_tiny_fm"] = n(SiT(input_size=8, patch_size=2, in_channels=4, hidden_size=256, depth=6, num_heads=4, num_classes=10))
    m = AutoencoderKL(in_channels=1, out_channels=1, latent_channels=4, block_out_channels=[32, 64, 64], layers_per_block=1,
                      norm_num_groups=8)
    counts["vae_tiny_fm_encoder"], counts["vae_tiny_fm_quant_conv"] = n(m.encoder), n(m.quant_conv)
    counts["vae_tiny_fm_decoder"], counts["vae_tiny_fm_post_quant_conv"] = n(m.decoder), n(m.post_quant_conv)

    for k, v in published.items():
        assert counts[k] == v, f"{k}: {counts[k]:,} != published {v:,}"
        print(f"  {k}: {counts[k]:,} == published {v:,}")
    out_file("model_param_counts")
    save("model_param_counts", {k: np.array([v], dtype=np.int64) for k, v in counts.items()},
         {"counts": json.dumps(counts), "published": json.dumps(published),
          "note": "parameter counts (nn.Parameters incl. the fixed pos_embed); every 'published' entry is asserted equal"})


# ---------------------------------------------------------------------------------------------------------------
def main():
    verify_references()
    print("fixtures:")
    convnext_fixture("convnext_narrow", SEED + 1,
                     dict(in_chans=1, num_classes=10, depths=[2, 2, 4, 2], dims=[8, 16, 24, 32], stem_patch=2, ls_init_value=1e-6),
                     (2, 1, 32, 32))
    convnext_fixture("convnext_deep", SEED + 2,
                     dict(in_chans=3, num_classes=12, depths=[3, 3, 27, 3], dims=[8, 8, 8, 16], stem_patch=4, ls_init_value=1e-6),
                     (1, 3, 64, 64))
    g = torch.Generator().manual_seed(SEED + 100)
    sit_narrow = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=4, mlp_ratio=4.0,
                      num_classes=10, class_dropout_prob=0.1, learn_sigma=False)
    t_rand = torch.rand(4, generator=g).tolist()
    sit_fixture("sit_narrow", SEED + 3, sit_narrow, 3, [0.25, t_rand[0], t_rand[1]], [3, 10, 7])  # 10 = null class
    sit_fixture("sit_deep", SEED + 4,
                dict(input_size=8, patch_size=2, in_channels=4, hidden_size=8, depth=28, num_heads=1, mlp_ratio=4.0,
                     num_classes=10, class_dropout_prob=0.1, learn_sigma=False, z_dims=[16], encoder_depth=8, projector_dim=32),
                2, [t_rand[2], t_rand[3]], [1, 8])
    sit_fixture("dit_narrow", SEED + 5, dict(sit_narrow, learn_sigma=True, dit=True), 3, [100, 517, 999], [0, 9, 4])
    vae_narrow = dict(in_channels=1, out_channels=1, latent_channels=4, block_out_channels=[8, 16, 16], layers_per_block=1,
                      norm_num_groups=4, scaling_factor=0.5)
    vae_encoder_fixture("vae_encoder_narrow", SEED + 6, vae_narrow, (2, 1, 32, 32))
    # [8, 16, 24, 24] keeps SD-VAE's key set (conv_shortcut in down_blocks.1 and .2: 108 tensors with quant_conv)
    vae_encoder_fixture("vae_encoder_sd", SEED + 7,
                        dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[8, 16, 24, 24], layers_per_block=2,
                             norm_num_groups=4, scaling_factor=0.18215), (1, 3, 64, 64))
    vae_decoder_fixture("vae_decoder_narrow", SEED + 8, vae_narrow, (2, 4, 8, 8))
    sincos_fixture()
    print("full-size models:")
    full_size()
    total = sum(os.path.getsize(p) for p in written)
    for p in written:
        print(f"  {os.path.getsize(p):>9,}  {os.path.basename(p)}")
    print(f"  {total:>9,}  total")
    assert total < MAX_TOTAL, f"total {total} bytes >= {MAX_TOTAL}"


if __name__ == "__main__":
    main()
