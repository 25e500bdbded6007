// The corruption generator: every (corruption, severity) of a dataset, written as CIFAR-10-C style .npy files
// (<out>/<corruption>.npy, <out>/labels.npy, <out>/meta.json) or ImageNet-C style folders
// (<out>/<corruption>/<severity>/<class>/<image>). Chunks of images go to Bun Workers; each image's random
// stream depends only on (seed, corruption, severity, image index), so output bytes do not depend on workers.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { readPrepared, runChunk, type ChunkResult, type Geometry, type JobConfig } from "./corrupt-job.ts";
import type { CorruptRequest } from "./corrupt-worker.ts";
import { DataError } from "./errors.ts";
import { encodeNpyLabels, NpyRowWriter } from "./npy.ts";
import type { ImageSource } from "./source.ts";
import { ALL_CORRUPTIONS, makeCorruptionContext, sizeFamilyFor, type CorruptionContext, type CorruptionName, type SizeFamily } from "./corruptions/index.ts";

export interface GenerateOptions {
  source: ImageSource;
  out: string;
  format?: "npy" | "folder"; // default npy
  corruptions?: CorruptionName[]; // default all 19
  severities?: number[]; // default 1..5
  seed?: number; // default 0
  limit?: number; // the first N images of the source
  geometry?: Partial<Geometry>; // applied before corrupting (Fashion-MNIST: pad 32)
  table?: SizeFamily | "auto";
  frostDir?: string;
  workers?: number; // default: available cores; 0 = inline
  chunkSize?: number; // images per job (default: see below)
  imageFormat?: "jpeg" | "png"; // folder output, default jpeg (quality 85, as ImageNet-C)
  skipBad?: boolean;
  onProgress?: (done: number, total: number, seconds: number) => void;
}

export interface GenerateReport {
  images: number; // per (corruption, severity)
  tasks: number;
  seconds: number;
  family: SizeFamily;
  shape: [number, number, number];
  skipped: string[];
}

export function classDirNames(source: ImageSource): string[] {
  const names = source.classNames;
  if (names.every((n) => /^[\w.-]+$/.test(n))) return names; // e.g. ImageNet wnids: keep
  const width = String(names.length - 1).length;
  return names.map((_, k) => String(k).padStart(width, "0")); // sorted order = class order
}

export async function generateCorruptions(opts: GenerateOptions): Promise<GenerateReport> {
  const t0 = performance.now();
  const { source, out } = opts;
  const format = opts.format ?? "npy", corruptions = opts.corruptions ?? [...ALL_CORRUPTIONS];
  const severities = opts.severities ?? [1, 2, 3, 4, 5], seed = opts.seed ?? 0, skipBad = opts.skipBad ?? false;
  const geometry: Geometry = { channels: source.channels === 1 ? 1 : 3, ...opts.geometry };

  let order = Array.from({ length: Math.min(opts.limit ?? source.length, source.length) }, (_, i) => i);
  const skipped: string[] = [];
  if (skipBad && format === "npy") order = await dropUnreadable(source, order, geometry, skipped); // rows must be known up front
  if (order.length === 0) throw new DataError(source.name, "no readable images to corrupt");
  const sample = await readPrepared(source, order[0], geometry);
  const shape: [number, number, number] = [sample.height, sample.width, sample.channels];
  const family = !opts.table || opts.table === "auto" ? sizeFamilyFor(sample.height, sample.width) : opts.table;
  const ctx = await makeCorruptionContext({ family, seed, frostDir: opts.frostDir, corruptions });
  const config: JobConfig = { seed, corruptions, severities, geometry, format, out, imageFormat: opts.imageFormat ?? "jpeg", skipBad, classDirs: classDirNames(source), shape };

  mkdirSync(out, { recursive: true });
  const n = order.length, S = severities.length;
  const writers = new Map<CorruptionName, NpyRowWriter>();
  if (format === "npy") {
    const rowShape = shape[2] === 1 ? [shape[0], shape[1]] : shape;
    for (const c of corruptions) writers.set(c, new NpyRowWriter(join(out, `${c}.npy`), [S * n, ...rowShape]));
    const labels = new Int32Array(S * n);
    for (let s = 0; s < S; s++) order.forEach((i, k) => (labels[s * n + k] = source.labels[i]));
    writeFileSync(join(out, "labels.npy"), encodeNpyLabels(labels));
  }
  writeFileSync(join(out, "meta.json"), JSON.stringify({
    generator: "dusa corrupt", source: source.name, images: n, severities, corruptions, seed, table: family,
    shape, geometry, classNames: source.classNames, frost: opts.frostDir ?? "synthesized", format,
  }, null, 2) + "\n");

  // Chunks: enough of them to keep every worker busy, at most 250 images, and (npy) at most ~256 MB of results.
  const workers = opts.workers ?? availableParallelism();
  const resultBytes = format === "npy" ? corruptions.length * S * shape[0] * shape[1] * shape[2] : 0;
  const chunkSize = opts.chunkSize ?? Math.max(1, Math.min(250, Math.ceil(n / (8 * Math.max(1, workers))), resultBytes > 0 ? Math.floor(256e6 / resultBytes) : 250));
  const chunks: { position: number; indices: number[] }[] = [];
  for (let p = 0; p < n; p += chunkSize) chunks.push({ position: p, indices: order.slice(p, p + chunkSize) });
  let done = 0;
  const consume = (chunk: { position: number }, r: ChunkResult) => {
    for (const b of r.blocks) writers.get(b.corruption)!.writeRows(severities.indexOf(b.severity) * n + chunk.position, b.data);
    skipped.push(...r.skipped);
    opts.onProgress?.(++done, chunks.length, (performance.now() - t0) / 1000);
  };
  try {
    if (workers === 0) for (const c of chunks) consume(c, await runChunk(source, c.indices, config, ctx));
    else await runInWorkers(Math.min(workers, chunks.length), source, config, ctx, chunks, consume);
  } finally {
    for (const w of writers.values()) w.close();
  }
  return { images: n, tasks: corruptions.length * S, seconds: (performance.now() - t0) / 1000, family, shape, skipped };
}

async function dropUnreadable(source: ImageSource, order: number[], geometry: Geometry, skipped: string[]): Promise<number[]> {
  const kept: number[] = [];
  for (const i of order) {
    try { await readPrepared(source, i, geometry); kept.push(i); } catch (e) {
      if (!(e instanceof DataError)) throw e;
      skipped.push(source.where(i));
    }
  }
  return kept;
}

function runInWorkers<C extends { indices: number[] }>(count: number, source: ImageSource, config: JobConfig, ctx: CorruptionContext, chunks: C[], consume: (c: C, r: ChunkResult) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0, finished = 0, failed = false;
    const stop = (e?: unknown) => {
      for (const w of workers) w.terminate();
      if (e !== undefined) { failed = true; reject(e); } else resolve();
    };
    const feed = (w: Worker, id: number) => w.postMessage({ type: "chunk", id, indices: chunks[id].indices } satisfies CorruptRequest);
    for (let k = 0; k < count; k++) {
      const w = new Worker(new URL("./corrupt-worker.ts", import.meta.url).href);
      workers.push(w);
      w.onerror = (e: ErrorEvent) => stop(new Error(`corruption worker failed: ${e.message}`));
      w.onmessage = (e: MessageEvent) => {
        if (failed) return;
        const msg = e.data as { type: "chunk"; id: number; result: ChunkResult } | { type: "error"; id: number; error: { path?: string; detail: string } };
        if (msg.type === "error") return stop(msg.error.path !== undefined ? new DataError(msg.error.path, msg.error.detail) : new Error(msg.error.detail));
        try { consume(chunks[msg.id], msg.result); } catch (err) { return stop(err); }
        if (++finished === chunks.length) return stop();
        if (next < chunks.length) feed(w, next++);
      };
      w.postMessage({ type: "init", spec: source.spec(), config, ctx } satisfies CorruptRequest);
      if (next < chunks.length) feed(w, next++);
    }
  });
}
