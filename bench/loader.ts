// Loader throughput: Fashion-MNIST test set, batches of 64 with the task (pad 32, normalise) and aux (32x32,
// [-1, 1]) transforms, images/s with the consumer doing nothing, per worker count; and the time a simulated
// compute step (busy main thread) waits for the next batch. Optionally the same on an ImageNet-C-like folder of
// 224x224 JPEGs (decode + crop + aux 256). `bun bench/loader.ts [--imagenet]`.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { loadFashionMnist } from "../src/data/fashion-mnist.ts";
import { openImageFolder } from "../src/data/image-folder.ts";
import { createLoader, type LoaderOptions } from "../src/data/loader.ts";
import type { ImageSource } from "../src/data/source.ts";
import { FASHION_MNIST_AUX, FASHION_MNIST_TASK, IMAGENET_AUX, IMAGENET_TASK } from "../src/data/transforms.ts";
import { printTable, type Row } from "./table.ts";

export interface LoaderBenchResult {
  imagesPerSec: number; // Fashion-MNIST, batch 64, task + aux, 1 worker, consumer idle
  rows: Row[];
}

async function throughput(source: ImageSource, opts: LoaderOptions, epochs: number, stepMs = 0): Promise<{ imagesPerSec: number; waitMsPerBatch: number }> {
  const loader = createLoader(source, opts);
  try {
    for await (const _ of loader) { /* warm-up epoch: JIT, worker start */ }
    let images = 0, waited = 0, batches = 0;
    const t0 = performance.now();
    for (let e = 0; e < epochs; e++) {
      let ready = performance.now();
      for await (const b of loader) {
        waited += performance.now() - ready;
        images += b.taskShape[0];
        batches++;
        if (stepMs > 0) { const until = performance.now() + stepMs; while (performance.now() < until) { /* the compute step */ } }
        ready = performance.now();
      }
    }
    return { imagesPerSec: images / ((performance.now() - t0) / 1000), waitMsPerBatch: waited / batches };
  } finally {
    loader.close();
  }
}

export async function benchLoader(options: { epochs?: number; workers?: number[]; imagenet?: boolean } = {}): Promise<LoaderBenchResult> {
  const epochs = options.epochs ?? 3, workerCounts = options.workers ?? [0, 1, 2];
  const fm = loadFashionMnist("test");
  const base = { batchSize: 64, task: FASHION_MNIST_TASK, aux: FASHION_MNIST_AUX, shuffle: true, seed: 0, prefetch: 4 };
  const rows: Row[] = [];
  let headline = 0;
  for (const workers of workerCounts) {
    const idle = await throughput(fm, { ...base, workers }, epochs);
    // a step that takes as long per batch as the loader at 1/3 of its idle rate: waiting should be ~0 with workers
    const stepMs = (64 / (idle.imagesPerSec / 3)) * 1000;
    const busy = await throughput(fm, { ...base, workers }, 1, stepMs);
    rows.push({ case: "fmnist 28→32, task+aux 32", workers: String(workers), "img/s (idle consumer)": idle.imagesPerSec, "step ms/batch": stepMs, "wait ms/batch": busy.waitMsPerBatch });
    if (workers === 1) headline = idle.imagesPerSec;
  }
  if (options.imagenet) {
    const dir = mkdtempSync(join(tmpdir(), "dusa-loader-bench-"));
    try {
      for (let c = 0; c < 8; c++) {
        mkdirSync(join(dir, `n${String(c).padStart(8, "0")}`));
        for (let i = 0; i < 64; i++) {
          const px = Buffer.alloc(224 * 224 * 3);
          for (let k = 0; k < px.length; k++) px[k] = (k * (c + 3) + i * 17 + ((k / 672) | 0)) & 255;
          await sharp(px, { raw: { width: 224, height: 224, channels: 3 } }).jpeg({ quality: 85 }).toFile(join(dir, `n${String(c).padStart(8, "0")}`, `img${i}.JPEG`));
        }
      }
      const folder = await openImageFolder(dir);
      for (const workers of workerCounts) {
        const r = await throughput(folder, { batchSize: 64, task: IMAGENET_TASK, aux: IMAGENET_AUX, workers, prefetch: 4 }, 2);
        rows.push({ case: "224 JPEG decode, task 224 + aux 256", workers: String(workers), "img/s (idle consumer)": r.imagesPerSec, "step ms/batch": 0, "wait ms/batch": r.waitMsPerBatch });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { imagesPerSec: headline, rows };
}

if (import.meta.main) {
  const result = await benchLoader({ imagenet: process.argv.includes("--imagenet") });
  printTable("loader (batch 64)", result.rows);
  console.log(`\nFashion-MNIST loader, 1 worker: ${result.imagesPerSec.toFixed(0)} images/s`);
}
