// RunDir: folder naming, config.yaml, metrics, atomic results, resume of a run killed between tasks, checkpoints.
import { describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { loadConfig, taskList } from "../../src/config/index.ts";
import { readResults, ReportError, RunDir, taskResult } from "../../src/report/index.ts";
import { tempDir } from "../config/temp-dir.ts";
import { fakeResults } from "./results-fixture.ts";

const root = tempDir("run-dir");
const date = new Date(2025, 0, 31, 12);
const { config, sources } = loadConfig(["data.corruptions=[fog, snow, frost, contrast]", "data.limit=200"]);

describe("run folder", () => {
  test("runs/<date>-<name>, then -2, -3; shards get their own suffix", () => {
    const a = RunDir.create(config, { root, date, sources }), b = RunDir.create(config, { root, date });
    expect(basename(a.path)).toBe("2025-01-31-fmnist-dusa");
    expect(basename(b.path)).toBe("2025-01-31-fmnist-dusa-2");
    const shard = RunDir.create({ ...config, shard: "1/4" }, { root, date });
    expect(basename(shard.path)).toBe("2025-01-31-fmnist-dusa-shard1of4");
  });

  test("config.yaml is the resolved config; resume= reads it back", () => {
    const run = RunDir.create(config, { root: join(root, "cfg"), date, sources });
    const text = readFileSync(run.file("config.yaml"), "utf8");
    expect(text).toStartWith("# resolved from:\n#   configs/default.yaml");
    expect(loadConfig([`resume=${run.path}`]).config).toEqual({ ...config, resume: run.path });
    expect(RunDir.open(run.path).config).toEqual(config);
    expect(run.taskOrder).toEqual(["fog-5", "snow-5", "frost-5", "contrast-5"]);
  });

  test("open refuses a folder that is not a run", () => {
    expect(() => RunDir.open(join(root, "missing"))).toThrow(ReportError);
    mkdirSync(join(root, "plain"));
    expect(() => RunDir.open(join(root, "plain"))).toThrow("not a run folder (no config.yaml)");
  });
});

describe("metrics.jsonl", () => {
  test("one JSON line per step; a torn last line is closed on open and skipped on read", () => {
    const run = RunDir.create(config, { root: join(root, "metrics"), date });
    run.appendMetrics({ task: "fog-5", step: 0, images: 64, loss: 0.5, accuracy: 60, images_per_sec: 100, ms: { task_fwd: 3 } });
    run.appendMetrics({ task: "fog-5", step: 1, images: 64, loss: 0.4, accuracy: 62, images_per_sec: 110, ms: { task_fwd: 3 } });
    expect(readFileSync(run.file("metrics.jsonl"), "utf8").split("\n")).toHaveLength(3);
    appendFileSync(run.file("metrics.jsonl"), '{"task":"fog-5","st'); // killed mid-write
    const reopened = RunDir.open(run.path);
    reopened.appendMetrics({ task: "snow-5", step: 0, images: 64, loss: 0.3, accuracy: 50, images_per_sec: 90, ms: {} });
    expect(reopened.metrics().map((m) => `${m.task}:${m.step}`)).toEqual(["fog-5:0", "fog-5:1", "snow-5:0"]);
  });
});

describe("results", () => {
  test("appendResult writes results.json and results.csv atomically, in task-list order, replacing a re-run task", () => {
    const run = RunDir.create(config, { root: join(root, "results"), date });
    const [fog, snow, frost] = fakeResults(config);
    run.appendResult(frost);
    run.appendResult(fog);
    expect(run.results().map((r) => r.task)).toEqual(["fog-5", "frost-5"]);
    run.appendResult({ ...fog, correct: 1, accuracy: 0.5, error: 99.5 });
    run.appendResult(snow);
    expect(run.results().map((r) => r.task)).toEqual(["fog-5", "snow-5", "frost-5"]);
    expect(run.results()[0].correct).toBe(1);
    expect(readdirSync(run.path).filter((f) => f.includes(".tmp"))).toEqual([]);
    const json = JSON.parse(readFileSync(run.file("results.json"), "utf8"));
    expect(json.name).toBe("fmnist-dusa");
    expect(json.mean.tasks).toBe(3);
    const csv = readFileSync(run.file("results.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("task,corruption,severity,n,correct,accuracy,error,source_accuracy,loss,bad_steps,seconds,images_per_sec");
    expect(csv.slice(1).map((l) => l.split(",")[0])).toEqual(["fog-5", "snow-5", "frost-5"]);
    expect(run.finishedTasks()).toEqual(new Set(["fog-5", "snow-5", "frost-5"]));
  });

  test("a half-written temp file from a killed write does not count", () => {
    const run = RunDir.create(config, { root: join(root, "killed-write"), date });
    const [fog, snow] = fakeResults(config);
    run.appendResult(fog);
    writeFileSync(run.file(`results.json.tmp-99999`), '{"tasks": [{"task": "snow-5"'); // killed before the rename
    expect(readResults(run.path).map((r) => r.task)).toEqual(["fog-5"]);
    run.appendResult(snow);
    expect(run.finishedTasks()).toEqual(new Set(["fog-5", "snow-5"]));
  });

  test("a corrupt results.json is an error naming the file and key", () => {
    const run = RunDir.create(config, { root: join(root, "corrupt"), date });
    writeFileSync(run.file("results.json"), JSON.stringify({ tasks: [{ task: "fog-5", n: "many" }] }));
    expect(() => run.results()).toThrow(`${run.file("results.json")}: tasks.0.`);
    writeFileSync(run.file("results.json"), "{");
    expect(() => run.results()).toThrow("not valid JSON");
  });
});

describe("resume", () => {
  const tasks = taskList(config);

  test("episodic: a run killed between tasks skips its finished ones", () => {
    const path = RunDir.create(config, { root: join(root, "resume-episodic"), date }).path;
    {
      const run = RunDir.open(path, config);
      const results = fakeResults(config);
      run.appendResult(results[0]);
      run.appendResult(results[2]); // shards or reruns may finish out of order
    } // killed here
    const resumed = loadConfig([`resume=${path}`]).config;
    const plan = RunDir.open(path, resumed).resumePlan(taskList(resumed), resumed.mode);
    expect(plan.finished.map((t) => t.name)).toEqual(["fog-5", "frost-5"]);
    expect(plan.pending.map((t) => t.name)).toEqual(["snow-5", "contrast-5"]);
    expect(plan.checkpoint).toBeNull();
  });

  test("continual: restart after the last finished task from its saved state", () => {
    const run = RunDir.create({ ...config, mode: "continual" }, { root: join(root, "resume-continual"), date });
    const results = fakeResults(config);
    for (const k of [0, 1]) {
      writeFileSync(run.checkpointPath(k), `state after ${k}`); // 1. save the state
      run.appendResult(results[k]); // 2. commit the task
      run.pruneCheckpoints(k); // 3. drop older states
    }
    expect(run.checkpoints().map((c) => c.taskIndex)).toEqual([1]);
    const plan = RunDir.open(run.path).resumePlan(tasks, "continual");
    expect(plan.pending.map((t) => t.name)).toEqual(["frost-5", "contrast-5"]);
    expect(plan.checkpoint).toEqual({ taskIndex: 1, path: join(run.path, "checkpoints", "after-task-001.safetensors") });
    expect(readFileSync(plan.checkpoint!.path, "utf8")).toBe("state after 1");
  });

  test("continual: a missing state or finished tasks out of order cannot resume", () => {
    const run = RunDir.create({ ...config, mode: "continual" }, { root: join(root, "resume-broken"), date });
    const results = fakeResults(config);
    run.appendResult(results[0]);
    expect(() => run.resumePlan(tasks, "continual")).toThrow("the state saved after task 0 (fog-5) is missing");
    writeFileSync(run.checkpointPath(0), "s");
    run.appendResult(results[2]);
    expect(() => run.resumePlan(tasks, "continual")).toThrow("are not the first 2 of the task list");
    expect(existsSync(run.checkpointPath(0))).toBe(true);
  });
});

describe("report files", () => {
  test("finish writes summary.md, accuracy.png and profile.json", async () => {
    const run = RunDir.create(config, { root: join(root, "finish"), date });
    for (const r of fakeResults(config).slice(0, 3)) run.appendResult(r);
    await run.finish({ profile: { phases: { task_fwd: { ms: 300, calls: 10 }, data: { ms: 100, calls: 10 } }, peakBytes: { param: 1 << 20 } } });
    expect(readdirSync(run.path).sort()).toEqual(["accuracy.png", "config.yaml", "profile.json", "results.csv", "results.json", "summary.md"]);
    const profile = JSON.parse(readFileSync(run.file("profile.json"), "utf8"));
    expect(Object.keys(profile.phases)).toEqual(["data", "task_fwd"]);
    expect(profile.phases.task_fwd.share).toBeCloseTo(0.75);
    expect(run.readProfile()!.peakBytes).toEqual({ param: 1 << 20 });
    const summary = readFileSync(run.file("summary.md"), "utf8");
    expect(summary).toContain("**Missing:** 1 of 4 tasks have no result: contrast-5.");
    expect(summary).toContain("| task_fwd |");
    expect(taskResult({ task: "x", corruption: "x", severity: 1, n: 0, correct: 0, badSteps: 0, seconds: 0 }).accuracy).toBe(0);
  });
});
