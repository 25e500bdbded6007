// bun run compare: per-task accuracies of several runs side by side; means over the tasks every run finished.
import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { comparisonTable, readComparedRun } from "../../src/report/compare-runs.ts";
import { taskResult, writeResults } from "../../src/report/index.ts";
import { tempDir } from "../config/temp-dir.ts";

const result = (task: string, n: number, correct: number, source?: number) =>
  taskResult({ task, corruption: task.split("-")[0], severity: Number(task.split("-")[1]), n, correct, sourceAccuracy: source, badSteps: 0, seconds: 1 });

const rows = (table: string) => table.trim().split("\n").map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));

test("columns per run, gains against each run's own source, means over the common tasks", () => {
  const a = { label: "tent", results: [result("fog-5", 100, 40, 30), result("snow-5", 100, 70, 50), result("frost-5", 100, 60, 55)] };
  const b = { label: "dusa", results: [result("fog-5", 100, 35, 30), result("snow-5", 100, 52, 50)] };
  const table = rows(comparisonTable([a, b]));
  expect(table[0]).toEqual(["task", "n", "source %", "tent %", "Δ pp", "dusa %", "Δ pp"]);
  expect(table[2]).toEqual(["fog-5", "100", "30.0", "40.0", "+10.0", "35.0", "+5.0"]);
  expect(table[3]).toEqual(["snow-5", "100", "50.0", "70.0", "+20.0", "52.0", "+2.0"]);
  expect(table[4]).toEqual(["frost-5", "100", "55.0", "60.0", "+5.0", "—", "—"]);
  // frost is missing from dusa: the means are over fog and snow only, and say so
  expect(table[5]).toEqual(["**mean** (2 of 3, the tasks every run finished)", "", "40.0", "**55.0**", "+15.0", "**43.5**", "+3.5"]);
});

test("--by severity / corruption: one row per group, the mean of the group's tasks every run finished", () => {
  const a = { label: "tent", results: [result("fog-1", 100, 80, 70), result("snow-1", 100, 90, 80), result("fog-5", 100, 40, 30), result("snow-5", 100, 60, 50)] };
  const b = { label: "dusa", results: [result("fog-1", 100, 75, 70), result("snow-1", 100, 85, 80), result("fog-5", 100, 50, 30)] };
  const bySeverity = rows(comparisonTable([a, b], "severity"));
  expect(bySeverity[0]).toEqual(["severity", "tasks", "source %", "tent %", "Δ pp", "dusa %", "Δ pp"]);
  expect(bySeverity[2]).toEqual(["severity 1", "2", "75.0", "85.0", "+10.0", "80.0", "+5.0"]);
  expect(bySeverity[3]).toEqual(["severity 5", "1", "30.0", "40.0", "+10.0", "50.0", "+20.0"]); // snow-5: not in dusa
  expect(bySeverity[4][0]).toBe("**mean** (3 of 4, the tasks every run finished)");
  const byCorruption = rows(comparisonTable([a, b], "corruption"));
  expect(byCorruption.slice(2, 4).map((r) => r.slice(0, 4))).toEqual([["fog", "2", "50.0", "60.0"], ["snow", "1", "80.0", "90.0"]]);
});

test("a source-only run has no gain; the source column comes from the first run that knows it", () => {
  const source = { label: "source", results: [result("fog-5", 100, 30)] };
  const tent = { label: "tent", results: [result("fog-5", 100, 40, 30)] };
  const table = rows(comparisonTable([source, tent]));
  expect(table[2]).toEqual(["fog-5", "100", "30.0", "30.0", "—", "40.0", "+10.0"]);
  expect(table[3][0]).toBe("**mean** (1)");
});

test("different image counts for a task are shown; a folder without results is refused by name", () => {
  const table = rows(comparisonTable([{ label: "1k", results: [result("fog-5", 1000, 300, 30)] }, { label: "10k", results: [result("fog-5", 10000, 3100, 30.2)] }]));
  expect(table[2][1]).toBe("1000 / 10000");
  const dir = tempDir("compare");
  const empty = join(dir, "empty"), done = join(dir, "2026-01-01-done");
  mkdirSync(empty, { recursive: true });
  mkdirSync(done, { recursive: true });
  expect(() => readComparedRun(empty)).toThrow(/empty: no finished tasks/);
  writeResults(done, "done", [result("fog-5", 10, 5, 4)]);
  expect(readComparedRun(done).label).toBe("2026-01-01-done");
  expect(readComparedRun(done, "x").label).toBe("x");
});
