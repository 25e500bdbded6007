// Combining the folders of a sharded run (shard=i/n) into one report. Refused when the configs differ in anything
// but the shard, name and resume keys, or when a task has two different results.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../config/config-error.ts";
import { configDiff, SHARD_KEYS } from "../config/diff.ts";
import { configYaml } from "../config/print.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { appendJsonLine } from "./metrics.ts";
import { mergeProfiles, type Profile } from "./profile.ts";
import { ReportError } from "./report-error.ts";
import { orderResults, writeResults } from "./results-file.ts";
import { RunDir, RUN_FILES } from "./run-dir.ts";
import { createRunFolder, localDate } from "./run-folder-name.ts";
import { sameOutcome, type TaskResult } from "./task-result.ts";

export interface MergeOptions {
  out?: string; // default: <parent of the first folder>/<date>-<name>-merged[-N]
  date?: Date;
}

export interface MergeReport {
  out: RunDir;
  results: TaskResult[];
  missing: string[]; // tasks of the run's list that no folder has finished
}

function checkSameConfig(runs: RunDir[]): Record<string, unknown> {
  const first = runs[0].configTree();
  const issues = runs.slice(1).flatMap((run) =>
    configDiff(first, run.configTree(), SHARD_KEYS).map((d) => ({
      path: d.path,
      problem: `${runs[0].path} has ${JSON.stringify(d.a) ?? "nothing"}, ${run.path} has ${JSON.stringify(d.b) ?? "nothing"}`,
      allowed: `the same value in every folder (only ${SHARD_KEYS.join(", ")} may differ between shards)`,
    })),
  );
  if (issues.length) throw new ConfigError(issues);
  return first;
}

function combineResults(runs: RunDir[]): TaskResult[] {
  const byTask = new Map<string, { result: TaskResult; from: string }>();
  for (const run of runs) {
    for (const result of run.results()) {
      const seen = byTask.get(result.task);
      if (!seen) byTask.set(result.task, { result, from: run.path });
      else if (!sameOutcome(seen.result, result)) {
        throw new ReportError(run.path, `task ${result.task} has a different result in ${seen.from} (${seen.result.correct}/${seen.result.n} vs ${result.correct}/${result.n} correct)`);
      }
    }
  }
  return [...byTask.values()].map((v) => v.result);
}

export async function mergeRuns(paths: readonly string[], options: MergeOptions = {}): Promise<MergeReport> {
  if (paths.length === 0) throw new ReportError(".", "no run folders to merge");
  const runs = paths.map((p) => RunDir.open(p));
  const tree = checkSameConfig(runs);
  const results = combineResults(runs);
  const name = String(tree.name ?? "run");

  const outPath = options.out ?? createRunFolder(dirname(runs[0].path), `${localDate(options.date ?? new Date())}-${name}-merged`);
  if (options.out) {
    if (existsSync(outPath) && readdirSync(outPath).length > 0) throw new ReportError(outPath, "already exists and is not empty; choose another --out");
    mkdirSync(outPath, { recursive: true });
  }
  const sources = runs.map((r) => r.path);
  writeFileAtomic(join(outPath, RUN_FILES.config), `# merged from:\n${sources.map((s) => `#   ${s}`).join("\n")}\n` + configYaml({ ...tree, shard: null, resume: null }));
  const out = RunDir.open(outPath);
  const ordered = orderResults(results, out.taskOrder);
  writeResults(out.path, name, ordered);
  for (const run of runs) for (const record of run.metrics()) appendJsonLine(out.file(RUN_FILES.metrics), record);

  const profiles = runs.map((r) => r.readProfile()).filter((p): p is Profile => p !== undefined);
  const profile = profiles.length ? mergeProfiles(profiles) : undefined;
  const done = new Set(ordered.map((r) => r.task));
  const missing = out.taskOrder.filter((t) => !done.has(t));
  await out.finish({ profile, notes: [`Merged from ${sources.join(", ")}.`] });
  return { out, results: ordered, missing };
}
