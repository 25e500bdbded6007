// bun run merge: shard folders of one run become one report; mismatched configs and conflicting results are refused.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, runTasks, type Config } from "../../src/config/index.ts";
import { mergeRuns, ReportError, RunDir } from "../../src/report/index.ts";
import { tempDir } from "../config/temp-dir.ts";
import { fakeResults } from "./results-fixture.ts";

const root = tempDir("merge");
const date = new Date(2025, 0, 31);
const argv = ["data.corruptions=[fog, snow, frost, contrast, pixelate]", "data.limit=200"];

/** A shard folder with its tasks finished (some left unfinished when `skip` is given). */
function shardRun(config: Config, under: string, skip: string[] = []): RunDir {
  const run = RunDir.create(config, { root: join(root, under), date });
  const all = fakeResults(config);
  for (const t of runTasks(config)) if (!skip.includes(t.name)) run.appendResult(all.find((r) => r.task === t.name)!);
  run.appendMetrics({ task: runTasks(config)[0].name, step: 0, images: 64, loss: 0.1, accuracy: 50, images_per_sec: 10, ms: {} });
  run.writeProfile({ phases: { task_fwd: { ms: 100, calls: 2 } }, peakBytes: { act: 1000 * (Number(config.shard![0]) + 1) } });
  return run;
}

describe("mergeRuns", () => {
  test("two shards: every task once, in task order, with the combined report", async () => {
    const shards = [0, 1].map((i) => shardRun(loadConfig([...argv, `shard=${i}/2`]).config, "ok"));
    const { out, results, missing } = await mergeRuns(shards.map((s) => s.path), { out: join(root, "ok", "merged") });
    expect(results.map((r) => r.task)).toEqual(["fog-5", "snow-5", "frost-5", "contrast-5", "pixelate-5"]);
    expect(missing).toEqual([]);
    for (const f of ["config.yaml", "results.json", "results.csv", "summary.md", "accuracy.png", "metrics.jsonl", "profile.json"]) expect(existsSync(out.file(f))).toBe(true);
    expect(out.config?.shard).toBeNull();
    expect(readFileSync(out.file("config.yaml"), "utf8")).toStartWith(`# merged from:\n#   ${shards[0].path}\n#   ${shards[1].path}\n`);
    expect(out.metrics()).toHaveLength(2);
    const profile = JSON.parse(readFileSync(out.file("profile.json"), "utf8"));
    expect(profile.phases.task_fwd).toMatchObject({ ms: 200, calls: 4 });
    expect(profile.peakBytes).toEqual({ act: 2000 });
    expect(readFileSync(out.file("summary.md"), "utf8")).toContain(`Merged from ${shards[0].path}, ${shards[1].path}.`);
  });

  test("a shard that did not finish: merged anyway, the missing tasks are named", async () => {
    const shards = [0, 1].map((i) => shardRun(loadConfig([...argv, `shard=${i}/2`]).config, "partial", i === 1 ? ["contrast-5"] : []));
    const { out, missing } = await mergeRuns(shards.map((s) => s.path), { date });
    expect(out.path).toBe(join(root, "partial", "2025-01-31-fmnist-dusa-merged"));
    expect(missing).toEqual(["contrast-5"]);
    expect(readFileSync(out.file("summary.md"), "utf8")).toContain("**Missing:** 1 of 5 tasks have no result: contrast-5.");
  });

  test("configs that differ in more than the shard are refused, naming each key", async () => {
    const a = shardRun(loadConfig([...argv, "shard=0/2"]).config, "mismatch");
    const b = shardRun(loadConfig([...argv, "shard=1/2", "method.lr=1e-3", "seed=1"]).config, "mismatch");
    const error = await mergeRuns([a.path, b.path], { out: join(root, "mismatch", "merged") }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual(["method.aux_lr", "method.lr", "seed"]);
    expect(error.message).toContain(`method.lr: ${a.path} has 0.0001, ${b.path} has 0.001`);
    expect(existsSync(join(root, "mismatch", "merged"))).toBe(false);
  });

  test("a task with two different results is refused; identical duplicates are fine", async () => {
    const config = loadConfig(argv).config;
    const a = shardRun({ ...config, shard: "0/1" }, "dup"), b = RunDir.create({ ...config, shard: "0/1" }, { root: join(root, "dup"), date });
    b.appendResult(a.results()[0]);
    expect((await mergeRuns([a.path, b.path], { out: join(root, "dup", "same") })).results).toHaveLength(5);
    b.appendResult({ ...a.results()[1], correct: 3 });
    const error = await mergeRuns([a.path, b.path], { out: join(root, "dup", "different") }).catch((e) => e);
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toContain("task snow-5 has a different result");
  });

  test("refuses to write into a non-empty --out", async () => {
    const a = shardRun(loadConfig([...argv, "shard=0/1"]).config, "occupied");
    const error = await mergeRuns([a.path], { out: a.path }).catch((e) => e);
    expect(error.message).toContain("already exists and is not empty");
  });

  test("bun run merge: exit 1 and the reason when refused", async () => {
    const a = shardRun(loadConfig([...argv, "shard=0/2"]).config, "cli");
    const b = shardRun(loadConfig([...argv, "shard=1/2", "data.limit=100"]).config, "cli");
    const proc = Bun.spawnSync(["bun", "src/cli/merge.ts", a.path, b.path, "--out", join(root, "cli", "merged")], { stderr: "pipe", stdout: "pipe" });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain("merge refused: the folders are not shards of one run:\ndata.limit:");
    const ok = Bun.spawnSync(["bun", "src/cli/merge.ts", a.path, "--out", join(root, "cli", "single")], { stderr: "pipe", stdout: "pipe" });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.toString()).toContain(`merged 1 folders into ${join(root, "cli", "single")}: 3 tasks`);
  });
});
