// bun run tta end to end on the tiny architectures with fixed random weights and a few dozen images.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import { writeSafetensors } from "../../src/io/safetensors.ts";
import { ConvNeXt } from "../../src/models/convnext.ts";
import { loadPreset } from "../../src/models/presets.ts";
import { SiT } from "../../src/models/sit.ts";
import { AutoencoderKL } from "../../src/models/vae.ts";
import { Context } from "../../src/native/index.ts";
import type { Parameters } from "../../src/nn/params.ts";
import { readResults, writeResults } from "../../src/report/results-file.ts";
import { RunDir } from "../../src/report/run-dir.ts";
import { runTta } from "../../src/tta/runner.ts";

let dir = "";
const REPORT = ["config.yaml", "metrics.jsonl", "results.json", "results.csv", "summary.md", "accuracy.png", "profile.json"];

async function saveRandom(file: string, params: Parameters, seed: number, std: number, keep: string[] = [], metadata: Record<string, string> = {}) {
  const kept = new Map(keep.map((n) => [n, params.p(n).read()]));
  params.ctx.call("dusa_rng_normal", params.values, params.values.size, seed, 0, 0, std);
  for (const [n, v] of kept) params.p(n).write(v);
  await writeSafetensors(file, Object.fromEntries([...params.get()].map(([n, d]) => [n, { shape: params.table.get(n).shape, data: d }])), metadata);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dusa-runner-"));
  const ctx = Context.create("cpu");
  const [c, v, s] = ["convnext-tiny-fm", "vae-tiny-fm", "sit-tiny-fm"].map(loadPreset);
  if (c.family !== "convnext" || v.family !== "vae" || s.family !== "sit") throw new Error("presets");
  const task = new ConvNeXt(ctx, c.config), vae = new AutoencoderKL(ctx, v.config) /* both halves: explain decodes */, gen = new SiT(ctx, s.config);
  await saveRandom(join(dir, "classifier.safetensors"), task.params, 1, 0.05);
  await saveRandom(join(dir, "vae.safetensors"), vae.params, 2, 0.05, [], { scaling_factor: "0.5" });
  await saveRandom(join(dir, "sit.safetensors"), gen.params, 3, 0.02, ["pos_embed"]);
  for (const m of [task, vae, gen]) m.free();
  ctx.destroy();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(...overrides: string[]) {
  return loadConfig([
    `model.weights.task=${join(dir, "classifier.safetensors")}`, `model.weights.vae=${join(dir, "vae.safetensors")}`,
    `model.weights.generative=${join(dir, "sit.safetensors")}`, `output_dir=${join(dir, "runs")}`,
    // the CPU backend: these runs check determinism and resume bit for bit (test/cuda/ covers CUDA)
    "device=cpu", "data.limit=24", "data.batch_size=8", "data.workers=0", "data.corruptions=[gaussian_noise,contrast]", ...overrides,
  ]).config;
}

test("explain=N draws, per task, the hypotheses before and after adaptation with their decoded estimates", { timeout: 120_000 }, async () => {
  const out = await runTta(config("method=dusa", "name=explain", "explain=3", "method.topk=2", "method.rand_budget=1"));
  expect(out.exitCode).toBe(0);
  const files = readdirSync(join(out.path, "explain")).sort();
  expect(files).toEqual(["contrast-5.png", "gaussian_noise-5.png"]);
  const meta = await sharp(join(out.path, "explain", files[0])).metadata();
  // 3 images, each a header and two rows (before, after) of K = 3 decoded tiles beside the input
  expect(meta.format).toBe("png");
  expect(meta.width!).toBeGreaterThan(3 * 96);
  expect(meta.height!).toBeGreaterThan(3 * 2 * 96);
  expect(() => config("method=tent", "explain=2")).toThrow(/explain/);
});

describe("each method runs and writes every report file", () => {
  for (const method of ["source", "tent", "dusa"])
    test(method, { timeout: 120_000 }, async () => {
      const out = await runTta(config(`method=${method}`, `name=${method}`));
      expect(out.exitCode).toBe(0);
      for (const f of REPORT) expect(existsSync(join(out.path, f))).toBe(true);
      expect(out.results.map((r) => r.task)).toEqual(["gaussian_noise-5", "contrast-5"]);
      for (const r of out.results) {
        expect(r.n).toBe(24);
        if (method !== "source") expect(r.sourceAccuracy).toBeDefined();
      }
      const lines = readFileSync(join(out.path, "metrics.jsonl"), "utf8").trim().split("\n");
      expect(lines.length).toBe(6); // 2 tasks x 3 micro-batches
      if (method === "source") expect(out.results.every((r) => r.loss === undefined)).toBe(true);
      else expect(out.results.every((r) => Number.isFinite(r.loss))).toBe(true);
    });
});

test("deterministic on CPU: the same config and seed give identical accuracies and losses", { timeout: 120_000 }, async () => {
  const a = await runTta(config("name=det-a", "method.accumulate=2"));
  const b = await runTta(config("name=det-b", "method.accumulate=2"));
  expect(b.results.map((r) => [r.correct, r.loss])).toEqual(a.results.map((r) => [r.correct, r.loss]));
});

test("episodic resets before each task, continual does not: the second task's first loss differs", { timeout: 120_000 }, async () => {
  const losses = async (mode: string) => {
    const out = await runTta(config(`name=${mode}`, `mode=${mode}`, "data.corruptions=[fog,brightness]"));
    return readFileSync(join(out.path, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.step === 0).map((m) => m.loss);
  };
  const [episodic, continual] = [await losses("episodic"), await losses("continual")];
  expect(continual[0]).toBe(episodic[0]); // the first task starts from the same weights either way
  expect(continual[1]).not.toBe(episodic[1]); // continual carries the adapted weights into the second task
});

test("resume skips finished tasks and reproduces the rest; continual keeps its last state and refuses a gap", { timeout: 120_000 }, async () => {
  const full = await runTta(config("name=resume-episodic", "method.accumulate=2"));
  writeResults(full.path, "resume-episodic", readResults(full.path).slice(0, 1)); // as if stopped after task 0
  const resumed = await runTta(loadConfig([`resume=${full.path}`]).config);
  expect(resumed.results.map((r) => r.task)).toEqual(["contrast-5"]);
  expect([resumed.results[0].correct, resumed.results[0].loss]).toEqual([full.results[1].correct, full.results[1].loss]);
  expect(readResults(full.path).map((r) => r.task)).toEqual(["gaussian_noise-5", "contrast-5"]);

  const continual = await runTta(config("name=resume-continual", "mode=continual"));
  expect(readdirSync(join(continual.path, "checkpoints"))).toEqual(["after-task-001.safetensors"]); // the latest state only
  writeResults(continual.path, "resume-continual", readResults(continual.path).slice(0, 1));
  await expect(runTta(loadConfig([`resume=${continual.path}`]).config)).rejects.toThrow(/state saved after task 0 \(gaussian_noise-5\) is missing/);
});

test("continual: Ctrl-C after a task stops with exit 130; resume restores the saved model and optimizer state", { timeout: 120_000 }, async () => {
  const uninterrupted = await runTta(config("name=ctrl-c-reference", "mode=continual"));
  const append = RunDir.prototype.appendResult;
  RunDir.prototype.appendResult = function (this: RunDir, result) {
    append.call(this, result);
    process.emit("SIGINT", "SIGINT"); // as if Ctrl-C came during the first task
  };
  let stopped;
  try {
    stopped = await runTta(config("name=ctrl-c", "mode=continual"));
  } finally {
    RunDir.prototype.appendResult = append;
  }
  expect(stopped.exitCode).toBe(130);
  expect(stopped.results.map((r) => r.task)).toEqual(["gaussian_noise-5"]);
  const resumed = await runTta(loadConfig([`resume=${stopped.path}`]).config);
  expect(resumed.exitCode).toBe(0);
  // the second task starts from the state adapted on the first: same as the uninterrupted run, bit for bit
  expect([resumed.results[0].task, resumed.results[0].correct, resumed.results[0].loss]).toEqual(["contrast-5", uninterrupted.results[1].correct, uninterrupted.results[1].loss]);
});

test("a real SIGTERM mid-task stops after the current step, not at the task's end", { timeout: 120_000 }, async () => {
  const args = [
    `model.weights.task=${join(dir, "classifier.safetensors")}`, `output_dir=${join(dir, "runs")}`, "name=sigterm",
    "method=tent", "device=cpu", "data.limit=400", "data.batch_size=8", "data.workers=1", "data.corruptions=[gaussian_noise]",
  ];
  const child = Bun.spawn(["bun", join(import.meta.dir, "../../src/cli/tta.ts"), ...args], { stdout: "pipe", stderr: "pipe" });
  const metrics = () => {
    const folder = existsSync(join(dir, "runs")) ? readdirSync(join(dir, "runs")).find((f) => f.endsWith("-sigterm")) : undefined;
    const file = folder ? join(dir, "runs", folder, "metrics.jsonl") : "";
    return file && existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).length : 0;
  };
  while (metrics() < 2 && child.exitCode === null) await Bun.sleep(20);
  child.kill("SIGTERM");
  const code = await child.exited;
  const stderr = await new Response(child.stderr).text();
  expect(code).toBe(130);
  expect(stderr).toContain("SIGTERM: finishing the current step");
  expect(metrics()).toBeLessThan(20); // of the task's 50 steps
});

test("bad configs and missing weights name the key", () => {
  expect(() => loadConfig(["method.lrr=1"])).toThrow(/method\.lrr: unknown key \(did you mean method\.lr\?\)/);
  expect(() => loadConfig(["mode=sometimes"])).toThrow(/mode.*episodic.*continual/);
});
