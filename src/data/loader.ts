// Batches decoded and transformed ahead of the compute step. Order: 0..N-1, or a permutation fixed by the seed;
// `limit` keeps the first N of that order. With workers > 0, decoding and transforms run in Bun Workers and
// up to `prefetch` batches are in flight, so the step does not wait on them.
import { buildBatch, type Batch } from "./batch.ts";
import { DataError } from "./errors.ts";
import { Rng } from "./rng.ts";
import type { ImageSource } from "./source.ts";
import type { AuxTransform, TaskTransform } from "./transforms.ts";
import type { LoaderRequest } from "./loader-worker.ts";

export type { Batch } from "./batch.ts";

export interface LoaderOptions {
  batchSize: number;
  task: TaskTransform;
  aux?: AuxTransform;
  shuffle?: boolean; // default false
  seed?: number; // default 0
  limit?: number; // at most this many images
  prefetch?: number; // batches prepared ahead, default 4
  workers?: number; // Bun Workers; 0 = on the calling thread. Default 1
  skipBad?: boolean; // skip unreadable images (listed in `skipped`) instead of throwing
  dropLast?: boolean;
}

export interface Loader extends AsyncIterable<Batch> {
  readonly order: Int32Array; // the source indices in loading order
  readonly numBatches: number;
  readonly skipped: string[]; // images skipped as unreadable (skipBad)
  close(): void;
}

export function loaderOrder(n: number, opts: Pick<LoaderOptions, "shuffle" | "seed" | "limit">): Int32Array {
  const order = opts.shuffle ? new Rng(opts.seed ?? 0, "loader-shuffle", n).permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
  return opts.limit !== undefined && opts.limit < n ? order.slice(0, Math.max(0, opts.limit)) : order;
}

// Bun's Worker has Node-style ref/unref (not in its type declarations): an idle pool must not keep the process alive.
type RefWorker = Worker & { ref(): void; unref(): void };

type Pending = { resolve: (r: { batch: Batch; skipped: string[] }) => void; reject: (e: unknown) => void };

class WorkerPool {
  private workers: RefWorker[] = [];
  private pending = new Map<number, Pending>();
  private inFlight = 0;
  private next = 0;

  constructor(count: number, source: ImageSource, opts: LoaderOptions) {
    for (let k = 0; k < count; k++) {
      const w = new Worker(new URL("./loader-worker.ts", import.meta.url).href) as RefWorker;
      w.onmessage = (e: MessageEvent) => this.receive(e.data);
      w.onerror = (e: ErrorEvent) => this.failAll(new Error(`loader worker failed: ${e.message}`));
      w.postMessage({ type: "init", spec: source.spec(), options: { task: opts.task, aux: opts.aux, skipBad: opts.skipBad } } satisfies LoaderRequest);
      w.unref();
      this.workers.push(w);
    }
  }

  request(id: number, indices: Int32Array): Promise<{ batch: Batch; skipped: string[] }> {
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.inFlight++ === 0) for (const w of this.workers) w.ref(); // keep the process alive while waiting
      this.workers[this.next++ % this.workers.length].postMessage({ type: "batch", id, indices } satisfies LoaderRequest);
    });
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (p && --this.inFlight === 0) for (const w of this.workers) w.unref();
    return p;
  }

  private receive(msg: { type: "batch"; id: number; batch: Batch; skipped: string[] } | { type: "error"; id: number; error: { path?: string; detail: string } }): void {
    const p = this.settle(msg.id);
    if (!p) return;
    if (msg.type === "batch") p.resolve({ batch: msg.batch, skipped: msg.skipped });
    else p.reject(msg.error.path !== undefined ? new DataError(msg.error.path, msg.error.detail) : new Error(msg.error.detail));
  }

  private failAll(e: unknown): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(e);
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.failAll(new Error("loader closed"));
  }
}

export function createLoader(source: ImageSource, opts: LoaderOptions): Loader {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const order = loaderOrder(source.length, opts);
  const B = opts.batchSize;
  const numBatches = opts.dropLast ? Math.floor(order.length / B) : Math.ceil(order.length / B);
  const prefetch = Math.max(1, opts.prefetch ?? 4);
  const workers = opts.workers ?? 1;
  let pool: WorkerPool | undefined = workers > 0 ? new WorkerPool(workers, source, opts) : undefined;
  const skipped: string[] = [];
  let nextId = 0;

  const load = (b: number) => {
    const indices = order.slice(b * B, Math.min((b + 1) * B, order.length));
    if (pool) return pool.request(nextId++, indices);
    return buildBatch(source, indices, opts);
  };

  return {
    order,
    numBatches,
    skipped,
    async *[Symbol.asyncIterator]() {
      if (!pool && workers > 0) throw new Error("loader is closed");
      const queue: Promise<{ batch: Batch; skipped: string[] }>[] = [];
      let requested = 0, shape: string | undefined;
      const fill = () => { while (requested < numBatches && queue.length < prefetch) { const p = load(requested++); p.catch(() => {}); queue.push(p); } };
      fill();
      while (queue.length > 0) {
        const { batch, skipped: bad } = await queue.shift()!;
        fill();
        skipped.push(...bad);
        const s = batch.taskShape.slice(1).join("x");
        if (batch.taskShape[0] > 0 && shape !== undefined && s !== shape)
          throw new DataError(source.where(batch.indices[0]), `batch images are ${s} after the task transform, earlier batches were ${shape} (add resize/centerCrop/pad)`);
        if (batch.taskShape[0] > 0) { shape ??= s; yield batch; }
      }
    },
    close() { pool?.close(); pool = undefined; },
  };
}
