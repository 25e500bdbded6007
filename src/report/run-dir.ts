// A run folder, runs/<date>-<name>[-shard<i>of<n>][-N]/:
//   config.yaml      the resolved config (what `resume=` and `bun run merge` read back)
//   metrics.jsonl    one line per step
//   results.json     finished tasks (the record resume trusts), replaced atomically after each task
//   results.csv      the same, as a table (regenerated with results.json)
//   summary.md, accuracy.png, profile.json   the report, rewritten by finish()
//   checkpoints/     continual mode: model + optimizer state after a task
// Continual runs commit a task in this order: save its checkpoint, appendResult, then pruneCheckpoints — so a run
// killed at any point resumes from a state that matches its results.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { RUN_CONFIG_FILE } from "../config/load.ts";
import { printConfig } from "../config/print.ts";
import { resolveConfig } from "../config/resolve.ts";
import type { Config } from "../config/schema/index.ts";
import { shardTasks } from "../config/shard.ts";
import { taskList, type Task } from "../config/tasks.ts";
import { validateTree } from "../config/validate.ts";
import { readYamlMapping } from "../config/yaml-file.ts";
import { writeAccuracyPng } from "./accuracy-chart.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { appendJsonLine, readJsonLines, type StepMetrics } from "./metrics.ts";
import { profileJson, type Profile } from "./profile.ts";
import { ReportError } from "./report-error.ts";
import { orderResults, readResults, writeResults } from "./results-file.ts";
import { createRunFolder, runFolderStem } from "./run-folder-name.ts";
import { summaryMarkdown } from "./summary.ts";
import type { TaskResult } from "./task-result.ts";

export const RUN_FILES = {
  config: RUN_CONFIG_FILE,
  metrics: "metrics.jsonl",
  summary: "summary.md",
  accuracyPng: "accuracy.png",
  profile: "profile.json",
  checkpoints: "checkpoints",
} as const;

export interface ResumePlan {
  finished: Task[];
  pending: Task[]; // what is left to run, in order
  checkpoint: { taskIndex: number; path: string } | null; // continual: the state to restore before pending[0]
}

const CHECKPOINT = /^after-task-(\d+)\.safetensors$/;

export class RunDir {
  private constructor(
    readonly path: string,
    readonly config: Config | undefined, // undefined when config.yaml no longer validates (e.g. presets changed)
  ) {}

  /** A new run folder under config.output_dir (or `root`), with config.yaml written. */
  static create(config: Config, options: { sources?: readonly string[]; date?: Date; root?: string } = {}): RunDir {
    const path = createRunFolder(options.root ?? config.output_dir, runFolderStem(config.name, options.date ?? new Date(), config.shard));
    writeFileAtomic(join(path, RUN_FILES.config), printConfig(config, options.sources ?? []));
    return new RunDir(path, config);
  }

  /** An existing run folder, to resume, report or merge. */
  static open(path: string, config?: Config): RunDir {
    const configFile = join(path, RUN_FILES.config);
    if (!existsSync(path) || !statSync(path).isDirectory()) throw new ReportError(path, "run folder not found");
    if (!existsSync(configFile)) throw new ReportError(path, `not a run folder (no ${RUN_FILES.config})`);
    const dir = new RunDir(path, config ?? tryLoadConfig(configFile));
    dir.#endTornMetricsLine();
    return dir;
  }

  get name(): string {
    return basename(this.path);
  }

  file(name: string): string {
    return join(this.path, name);
  }

  /** config.yaml as written (a plain tree; what `bun run merge` compares). */
  configTree(): Record<string, unknown> {
    return readYamlMapping(this.file(RUN_FILES.config));
  }

  /** The run's task names in run order (the full list, before sharding). */
  get taskOrder(): string[] {
    return this.config ? taskList(this.config).map((t) => t.name) : [];
  }

  appendMetrics(record: StepMetrics | Record<string, unknown>): void {
    appendJsonLine(this.file(RUN_FILES.metrics), record);
  }

  metrics(): Record<string, unknown>[] {
    return readJsonLines(this.file(RUN_FILES.metrics));
  }

  /** Records a finished task (replacing an earlier result of the same task); atomic. */
  appendResult(result: TaskResult): void {
    const results = this.results().filter((r) => r.task !== result.task);
    writeResults(this.path, this.config?.name ?? this.name, orderResults([...results, result], this.taskOrder));
  }

  results(): TaskResult[] {
    return readResults(this.path);
  }

  finishedTasks(): Set<string> {
    return new Set(this.results().map((r) => r.task));
  }

  /**
   * What a resumed run does. Episodic: every task without a result, in order. Continual: the tasks after the
   * finished ones, starting from the state saved after the last finished task.
   */
  resumePlan(tasks: readonly Task[], mode: Config["mode"]): ResumePlan {
    const done = this.finishedTasks();
    const finished = tasks.filter((t) => done.has(t.name)), pending = tasks.filter((t) => !done.has(t.name));
    if (mode === "episodic" || finished.length === 0) return { finished, pending, checkpoint: null };
    const k = finished.length;
    if (finished.some((t, i) => t !== tasks[i])) throw new ReportError(this.path, `continual run: finished tasks ${finished.map((t) => t.name).join(", ")} are not the first ${k} of the task list`);
    const path = this.checkpointPath(k - 1);
    if (!existsSync(path)) throw new ReportError(path, `continual run: the state saved after task ${k - 1} (${tasks[k - 1].name}) is missing, so the run cannot continue where it stopped`);
    return { finished, pending, checkpoint: { taskIndex: k - 1, path } };
  }

  /** Where the state after task `taskIndex` (0-based, in the full task list) is saved; creates checkpoints/. */
  checkpointPath(taskIndex: number): string {
    const dir = this.file(RUN_FILES.checkpoints);
    mkdirSync(dir, { recursive: true });
    return join(dir, `after-task-${String(taskIndex).padStart(3, "0")}.safetensors`);
  }

  /** explain/<task>.png (creates explain/). */
  explainPath(taskName: string): string {
    const dir = this.file("explain");
    mkdirSync(dir, { recursive: true });
    return join(dir, `${taskName.replace(/[^\w.-]+/g, "_")}.png`);
  }

  /** Saved states, oldest first. */
  checkpoints(): { taskIndex: number; path: string }[] {
    const dir = this.file(RUN_FILES.checkpoints);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((f) => {
      const m = CHECKPOINT.exec(f);
      return m ? [{ taskIndex: Number(m[1]), path: join(dir, f) }] : [];
    }).sort((a, b) => a.taskIndex - b.taskIndex);
  }

  /** Deletes every saved state but the one after task `keep` (full-size states are gigabytes each). */
  pruneCheckpoints(keep: number): void {
    for (const c of this.checkpoints()) if (c.taskIndex !== keep) rmSync(c.path, { force: true });
  }

  writeSummary(results: readonly TaskResult[] = this.results(), extra: { profile?: Profile; notes?: readonly string[] } = {}): void {
    const text = summaryMarkdown(results, { name: this.name, config: this.config, expectedTasks: this.#expectedTasks(), ...extra });
    writeFileAtomic(this.file(RUN_FILES.summary), text);
  }

  async writeAccuracyPng(results: readonly TaskResult[] = this.results()): Promise<void> {
    await writeAccuracyPng(this.file(RUN_FILES.accuracyPng), results, { name: this.config?.name ?? this.name, method: this.config?.method.name ?? "method" });
  }

  writeProfile(profile: Profile): void {
    writeFileAtomic(this.file(RUN_FILES.profile), JSON.stringify(profileJson(profile), null, 2) + "\n");
  }

  readProfile(): Profile | undefined {
    const file = this.file(RUN_FILES.profile);
    if (!existsSync(file)) return undefined;
    try {
      const { phases, peakBytes, device, seconds } = JSON.parse(readFileSync(file, "utf8"));
      return { phases, peakBytes: peakBytes ?? {}, device, seconds };
    } catch (e) {
      throw new ReportError(file, `not valid JSON (${(e as Error).message})`, { cause: e });
    }
  }

  /** The report from the results so far: summary.md, accuracy.png, and profile.json when given. */
  async finish(extra: { profile?: Profile; notes?: readonly string[] } = {}): Promise<void> {
    const results = this.results();
    if (extra.profile) this.writeProfile(extra.profile);
    this.writeSummary(results, extra);
    await this.writeAccuracyPng(results);
  }

  /** The tasks this folder is expected to finish: its shard of the task list. */
  #expectedTasks(): string[] | undefined {
    if (!this.config) return undefined;
    return shardTasks(this.taskOrder, this.config.shard);
  }

  #endTornMetricsLine(): void {
    const file = this.file(RUN_FILES.metrics);
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size === 0) return;
    const last = Buffer.alloc(1), fd = openSync(file, "r");
    try {
      readSync(fd, last, 0, 1, size - 1);
    } finally {
      closeSync(fd);
    }
    if (last[0] !== 0x0a) appendFileSync(file, "\n");
  }
}

function tryLoadConfig(file: string): Config | undefined {
  try {
    return resolveConfig(validateTree(readYamlMapping(file)));
  } catch {
    return undefined;
  }
}
