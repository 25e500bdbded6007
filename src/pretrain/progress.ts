// Progress of a training run: images/s, loss, learning rate and the ETA of the epoch and of the run. On a terminal
// one line is rewritten in place; elsewhere (logs, batch jobs) a line is printed every `everySeconds`. Every finished
// epoch gets its own line.
import { duration, rate } from "../report/format.ts";
import type { ProgressSink } from "../report/progress.ts";
import type { EpochRecord } from "./checkpoint.ts";

export type TrainProgressOptions = { out?: ProgressSink; tty?: boolean; everySeconds?: number; now?: () => number };

export class TrainProgress {
  readonly tty: boolean;
  #out: ProgressSink;
  #now: () => number;
  #every: number;
  #lastDraw = -Infinity;
  #lineShown = false;
  #startMs = 0;
  #startStep = 0;
  #batchesPerEpoch = 0;

  constructor(readonly model: string, readonly epochs: number, readonly totalSteps: number, options: TrainProgressOptions = {}) {
    this.#out = options.out ?? process.stderr;
    this.tty = options.tty ?? Boolean(this.#out.isTTY);
    this.#now = options.now ?? (() => performance.now());
    this.#every = (options.everySeconds ?? 30) * 1000;
  }

  /** Timing restarts here (a resumed run measures its own speed). */
  start(step: number, batchesPerEpoch: number): void {
    this.#startMs = this.#now();
    this.#startStep = step;
    this.#batchesPerEpoch = batchesPerEpoch;
  }

  /** The status line after `step` steps (global), `batch` of the current epoch, with the running mean loss. */
  line(epoch: number, batch: number, step: number, imagesPerStep: number, loss: number, lr: number): string {
    const seconds = (this.#now() - this.#startMs) / 1000, steps = step - this.#startStep;
    const perStep = steps > 0 ? seconds / steps : NaN;
    const speed = steps > 0 ? `${rate((steps * imagesPerStep) / seconds)} img/s` : "- img/s";
    const epochEta = duration((this.#batchesPerEpoch - batch) * perStep), runEta = duration((this.totalSteps - step) * perStep);
    return `${this.model} epoch ${epoch + 1}/${this.epochs}  ${batch}/${this.#batchesPerEpoch}  ${speed}  loss ${loss.toFixed(4)}  lr ${lr.toExponential(2)}  ETA ${epochEta} (run ${runEta})`;
  }

  update(epoch: number, batch: number, step: number, imagesPerStep: number, loss: number, lr: number): void {
    const now = this.#now();
    if (now - this.#lastDraw < (this.tty ? 200 : this.#every)) return;
    this.#lastDraw = now;
    const text = this.line(epoch, batch, step, imagesPerStep, loss, lr);
    if (this.tty) {
      this.#out.write(`\r\x1b[K${text.slice(0, Math.max((this.#out.columns ?? 120) - 1, 20))}`);
      this.#lineShown = true;
    } else this.#out.write(`${text}\n`);
  }

  endEpoch(r: EpochRecord): void {
    this.log(`${this.model} epoch ${r.epoch + 1}/${this.epochs}  loss ${r.loss.toFixed(4)}  ${rate(r.imagesPerSec)} img/s  ${duration(r.seconds)}`);
  }

  log(message: string): void {
    this.#out.write(this.tty && this.#lineShown ? `\r\x1b[K${message}\n` : `${message}\n`);
    this.#lineShown = false;
  }

  close(): void {
    if (this.#lineShown) this.#out.write("\n");
    this.#lineShown = false;
  }
}
