// Progress of a run. On a terminal: one line rewritten in place (task, images, images/s, running accuracy, ETA of
// the task and of the run). Elsewhere (logs of batch jobs): one line per finished task.
import { duration, pct, rate, signed } from "./format.ts";
import type { TaskResult } from "./task-result.ts";

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  out?: ProgressSink; // default process.stderr
  tty?: boolean; // default: out.isTTY
  totalTasks?: number; // tasks this process will run, for [i/n] and the run's ETA
  now?: () => number; // milliseconds
  redrawMs?: number; // least time between redraws on a terminal (default 100)
}

interface Current {
  task: string;
  total: number;
  done: number;
  correct: number;
  startedMs: number;
}

export class Progress {
  readonly tty: boolean;
  #out: ProgressSink;
  #now: () => number;
  #redrawMs: number;
  #totalTasks?: number;
  #finished = 0;
  #finishedImages = 0;
  #finishedSeconds = 0;
  #current?: Current;
  #lastDraw = -Infinity;
  #lineShown = false;

  constructor(options: ProgressOptions = {}) {
    this.#out = options.out ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.#out.isTTY);
    this.#now = options.now ?? (() => performance.now());
    this.#redrawMs = options.redrawMs ?? 100;
    this.#totalTasks = options.totalTasks;
  }

  get #counter(): string {
    return `[${this.#finished + 1}/${this.#totalTasks ?? "?"}]`;
  }

  startTask(task: string, totalImages: number): void {
    this.#current = { task, total: totalImages, done: 0, correct: 0, startedMs: this.#now() };
    this.#lastDraw = -Infinity;
    if (this.tty) this.#draw();
  }

  /** Images done and correct so far in the current task (cumulative). */
  update(imagesDone: number, correct: number): void {
    const c = this.#current;
    if (!c) return;
    c.done = imagesDone;
    c.correct = correct;
    if (this.tty && this.#now() - this.#lastDraw >= this.#redrawMs) this.#draw();
  }

  endTask(result: TaskResult): void {
    this.#finished++;
    this.#finishedImages += result.n;
    this.#finishedSeconds += result.seconds;
    this.#current = undefined;
    const source = result.sourceAccuracy === undefined ? "" : ` (source ${pct(result.sourceAccuracy)}%, ${signed(result.accuracy - result.sourceAccuracy)})`;
    const bad = result.badSteps ? `  ${result.badSteps} bad steps` : "";
    this.#line(`[${this.#finished}/${this.#totalTasks ?? "?"}] ${result.task}  n ${result.n}  acc ${pct(result.accuracy)}%${source}  ${rate(result.imagesPerSec)} img/s  ${duration(result.seconds)}${bad}`);
  }

  /** A message between progress lines (the live line is redrawn after it). */
  log(message: string): void {
    this.#line(message);
    if (this.tty && this.#current) this.#draw();
  }

  close(): void {
    if (this.#lineShown) this.#out.write("\n");
    this.#lineShown = false;
  }

  /** Seconds left in the current task and in the whole run, from the throughput so far. */
  eta(): { task: number; run: number } | undefined {
    const c = this.#current;
    if (!c || c.done === 0) return undefined;
    const elapsed = (this.#now() - c.startedMs) / 1000;
    const perSec = c.done / Math.max(elapsed, 1e-9);
    const task = (c.total - c.done) / perSec;
    const overallPerSec = this.#finishedSeconds > 0 ? this.#finishedImages / this.#finishedSeconds : perSec;
    const tasksAfter = this.#totalTasks === undefined ? 0 : Math.max(0, this.#totalTasks - this.#finished - 1);
    return { task, run: task + (tasksAfter * c.total) / overallPerSec };
  }

  /** The live line for the current task. */
  statusLine(): string {
    const c = this.#current;
    if (!c) return "";
    const elapsed = (this.#now() - c.startedMs) / 1000;
    const eta = this.eta();
    const speed = c.done > 0 && elapsed > 0 ? `${rate(c.done / elapsed)} img/s` : "- img/s";
    const acc = c.done > 0 ? `acc ${pct((100 * c.correct) / c.done)}%` : "acc -";
    const etaText = eta ? `ETA ${duration(eta.task)}${this.#totalTasks !== undefined && this.#totalTasks > 1 ? ` (run ${duration(eta.run)})` : ""}` : "ETA ?";
    return `${this.#counter} ${c.task}  ${c.done}/${c.total}  ${speed}  ${acc}  ${etaText}`;
  }

  #draw(): void {
    const columns = this.#out.columns ?? 120;
    this.#out.write(`\r\x1b[K${this.statusLine().slice(0, Math.max(columns - 1, 20))}`);
    this.#lineShown = true;
    this.#lastDraw = this.#now();
  }

  #line(text: string): void {
    this.#out.write(this.tty && this.#lineShown ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.#lineShown = false;
  }
}
