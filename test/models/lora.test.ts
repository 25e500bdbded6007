// LoRA adapters: a fresh adapter changes nothing, merged and adapter forward agree, unmerge restores the weights,
// adapter gradients match directional finite differences, and lora mode trains only the adapters.
import { expect, test } from "bun:test";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { SiT } from "../../src/models/sit.ts";
import { initLora } from "../../src/nn/lora.ts";
import { trainLora } from "../../src/nn/params.ts";
import { directionalDerivative, expectClose, expectDirectional } from "../util/check.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal, uniform } from "../util/random.ts";

const ctx = cpuContext();
const lora = { rank: 4, alpha: 8, patterns: [/mlp\.fc[12]$/, /attn\.qkv$/] };

test("adapters wrap exactly the layers the patterns name; no match is an error", () => {
  const m = new SiT(ctx, { inputSize: 8, patchSize: 2, inChannels: 4, hidden: 32, depth: 2, heads: 4, mlpRatio: 4, numClasses: 10, learnSigma: false }, { lora });
  expect(m.loraLayers).toEqual(["blocks.0.attn.qkv", "blocks.0.mlp.fc1", "blocks.0.mlp.fc2", "blocks.1.attn.qkv", "blocks.1.mlp.fc1", "blocks.1.mlp.fc2"]);
  expect(m.table.get("blocks.1.mlp.fc1.lora_A").shape).toEqual([4, 32]);
  expect(m.table.get("blocks.1.mlp.fc1.lora_B").shape).toEqual([128, 4]);
  m.free();
  expect(() => new SiT(ctx, { inputSize: 8, patchSize: 2, inChannels: 4, hidden: 32, depth: 1, heads: 4, mlpRatio: 4, numClasses: 10, learnSigma: false }, { lora: { ...lora, patterns: ["nothing"] } })).toThrow(/no linear layer matches/);
});

test("ConvNeXt: fresh adapter is a no-op; merged = adapter forward; unmerge restores; gradients; lora mode", () => {
  const rng = freshRng();
  const m = new ConvNeXt(ctx, { inChans: 1, numClasses: 10, depths: [1, 1, 1, 1], dims: [8, 16, 16, 32], stemPatch: 2 }, { lora: { ...lora, patterns: ["mlp", "head.fc"] } });
  m.params.values.write(normal(rng, m.table.total, 0.2));
  initLora(m.params, m.loraLayers, rng.seed);
  const [B, H] = [2, 16];
  const x = ctx.upload(uniform(rng, B * H * H), [B, 1, H, H]);
  const base = m.forward(x, B, H, H).readFloat();
  // with B = 0 the adapters contribute nothing
  const plain = new ConvNeXt(ctx, m.config);
  plain.params.set([...m.params.get()].filter(([n]) => !n.includes("lora")).map(([n, d]) => [n, { shape: m.table.get(n).shape, data: d }]));
  expectClose("fresh adapter", base, plain.forward(x, B, H, H).readFloat(), 1e-6, rng.seed);
  // non-zero adapters: merged weights give the same function
  for (const layer of m.loraLayers) m.params.p(`${layer}.lora_B`).write(normal(rng, m.params.p(`${layer}.lora_B`).size, 0.1));
  const adapted = m.forward(x, B, H, H).readFloat();
  expect(Math.max(...adapted.map((v, i) => Math.abs(v - base[i])))).toBeGreaterThan(1e-3);
  const weights = m.params.p("stages.0.blocks.0.mlp.fc1.weight").readFloat();
  m.linears.merge();
  expectClose("merged", m.forward(x, B, H, H).readFloat(), adapted, 1e-5, rng.seed);
  m.linears.unmerge();
  expectClose("unmerged weights", m.params.p("stages.0.blocks.0.mlp.fc1.weight").readFloat(), weights, 1e-6, rng.seed);
  // gradients of the adapters only
  m.params.train(trainLora);
  const G = normal(rng, B * 10), g = ctx.upload(G, [B, 10]);
  const loss = () => m.forward(x, B, H, H).readFloat().reduce((s, v, i) => s + v * G[i], 0);
  loss();
  m.backward(g);
  const grad = m.params.grads!.readFloat(), theta = m.params.values.readFloat();
  const v = new Float32Array(theta.length);
  for (const e of m.table.entries) {
    const gsum = grad.subarray(e.offset, e.offset + e.size).reduce((s, gi) => s + Math.abs(gi), 0);
    if (e.role === "lora") {
      expect(gsum).toBeGreaterThan(0);
      v.set(uniform(rng, e.size), e.offset);
    } else expect(gsum).toBe(0);
  }
  expectDirectional("lora params", directionalDerivative(loss, theta, v, (a) => m.params.values.write(a)), grad, v, 1e-2, rng.seed);
  for (const t of [x, g]) t.free();
  m.free();
  plain.free();
});
