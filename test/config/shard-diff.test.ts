// Task lists, shards and config differences.
import { describe, expect, test } from "bun:test";
import { configDiff, loadConfig, parseShard, runTasks, shardTasks, SHARD_KEYS, taskList } from "../../src/config/index.ts";

describe("tasks", () => {
  test("every corruption at the first severity, then at the next", () => {
    const tasks = taskList(loadConfig(["data.severities=[3,5]", "data.corruptions=[fog, snow, frost]"]).config);
    expect(tasks.map((t) => t.name)).toEqual(["fog-3", "snow-3", "frost-3", "fog-5", "snow-5", "frost-5"]);
    expect(tasks[4]).toEqual({ name: "snow-5", corruption: "snow", severity: 5 });
  });

  test("a folder dataset is one task named after the folder", () => {
    const tasks = taskList({ data: { ...loadConfig([]).config.data, dataset: "folder", root: "/data/my-shift/" } });
    expect(tasks).toEqual([{ name: "my-shift", corruption: "my-shift", severity: 0 }]);
  });
});

describe("shards", () => {
  const all = Array.from({ length: 75 }, (_, i) => i);

  test("i/n takes every n-th task from i; the shards cover the list once", () => {
    expect(shardTasks(all, "1/4").slice(0, 4)).toEqual([1, 5, 9, 13]);
    const covered = [0, 1, 2, 3].flatMap((i) => shardTasks(all, `${i}/4`)).sort((a, b) => a - b);
    expect(covered).toEqual(all);
    expect(shardTasks(all, null)).toEqual(all);
    expect(shardTasks(all, "0/1")).toEqual(all);
    expect(shardTasks([1, 2], "5/8")).toEqual([]);
  });

  test("parseShard", () => {
    expect(parseShard("2/5")).toEqual({ index: 2, count: 5 });
    for (const bad of ["5/5", "1/0", "-1/3", "a/b", "3", "1/2/3"]) expect(() => parseShard(bad)).toThrow("shard:");
  });

  test("runTasks applies the config's shard", () => {
    const { config } = loadConfig(["shard=2/4"]);
    expect(runTasks(config).map((t) => t.name)).toEqual(["impulse_noise-5", "zoom_blur-5", "brightness-5", "jpeg_compression-5"]);
  });
});

describe("configDiff", () => {
  test("names every differing key; ignores the shard keys when asked", () => {
    const a = loadConfig(["shard=0/2"]).config, b = loadConfig(["shard=1/2", "method.lr=1e-3", "data.severities=[3]"]).config;
    expect(configDiff(a, b).map((d) => d.path).sort()).toEqual(["data.severities", "method.aux_lr", "method.lr", "shard"]);
    expect(configDiff(a, b, SHARD_KEYS)).toContainEqual({ path: "method.lr", a: 1e-4, b: 1e-3 });
    expect(configDiff(a, { ...a, shard: "1/2", name: "other" }, SHARD_KEYS)).toEqual([]);
  });

  test("keys present on one side only", () => {
    expect(configDiff({ a: 1, m: { x: 1 } }, { a: 1, m: { x: 1, y: 2 } })).toEqual([{ path: "m.y", a: undefined, b: 2 }]);
  });
});
