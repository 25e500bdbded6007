import { describe, expect, test } from "bun:test";
import { makeImage, type Image } from "../../src/data/image.ts";
import { createLoader, loaderOrder, type Batch } from "../../src/data/loader.ts";
import { ArraySource, type ImageSource } from "../../src/data/source.ts";
import { applyGeometry, FASHION_MNIST_AUX, FASHION_MNIST_TASK, writeTaskTensor } from "../../src/data/transforms.ts";
import { loadFashionMnist } from "../../src/data/fashion-mnist.ts";

const N = 23;
const pixels = Uint8Array.from({ length: N * 28 * 28 }, (_, i) => (i * 7 + (i >> 9)) % 256);
const source = new ArraySource({ name: "synthetic", path: "synthetic", images: pixels, count: N, height: 28, width: 28, channels: 1, labels: Int32Array.from({ length: N }, (_, i) => i % 10) });
const opts = { task: FASHION_MNIST_TASK, aux: FASHION_MNIST_AUX };

async function collect(loader: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe("loader", () => {
  test("in order by default; batch sizes; labels and tensors of the right images", async () => {
    const loader = createLoader(source, { ...opts, batchSize: 5, workers: 0 });
    const batches = await collect(loader);
    expect(batches.map((b) => b.taskShape[0])).toEqual([5, 5, 5, 5, 3]);
    expect(Array.from(batches.flatMap((b) => Array.from(b.indices)))).toEqual(Array.from({ length: N }, (_, i) => i));
    const b = batches[1];
    expect(b.taskShape).toEqual([5, 1, 32, 32]);
    expect(b.auxShape).toEqual([5, 1, 32, 32]);
    expect(Array.from(b.labels)).toEqual([5, 6, 7, 8, 9]);
    const expected = new Float32Array(1024);
    writeTaskTensor(applyGeometry(source.image(7), FASHION_MNIST_TASK), FASHION_MNIST_TASK, expected, 0);
    expect(Array.from(b.task.subarray(2 * 1024, 3 * 1024))).toEqual(Array.from(expected));
    expect(Math.min(...b.aux!)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...b.aux!)).toBeLessThanOrEqual(1);
    const dropLast = createLoader(source, { ...opts, batchSize: 5, workers: 0, dropLast: true });
    expect((await collect(dropLast)).length).toBe(4);
  });

  test("shuffle is a permutation fixed by the seed; limit keeps the first N of it", () => {
    const a = loaderOrder(1000, { shuffle: true, seed: 1 }), b = loaderOrder(1000, { shuffle: true, seed: 1 }), c = loaderOrder(1000, { shuffle: true, seed: 2 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(a).slice(0, 100).filter((v, i) => v === i).length).toBeLessThan(10);
    expect(Array.from(loaderOrder(1000, { shuffle: true, seed: 1, limit: 50 }))).toEqual(Array.from(a.subarray(0, 50)));
    expect(Array.from(loaderOrder(10, { limit: 3 }))).toEqual([0, 1, 2]);
  });

  test("workers 0, 1 and 2 give identical batches", async () => {
    const runs: Batch[][] = [];
    for (const workers of [0, 1, 2]) {
      const loader = createLoader(source, { ...opts, batchSize: 4, shuffle: true, seed: 9, limit: 17, workers, prefetch: 2 });
      runs.push(await collect(loader));
      loader.close();
    }
    for (const r of runs.slice(1)) {
      expect(r.length).toBe(runs[0].length);
      r.forEach((b, k) => {
        expect(Array.from(b.indices)).toEqual(Array.from(runs[0][k].indices));
        expect(Buffer.from(b.task.buffer).equals(Buffer.from(runs[0][k].task.buffer))).toBe(true);
        expect(Buffer.from(b.aux!.buffer).equals(Buffer.from(runs[0][k].aux!.buffer))).toBe(true);
      });
    }
    expect(runs[0].reduce((n, b) => n + b.taskShape[0], 0)).toBe(17);
  });

  test("batches are requested ahead of the consumer (prefetch)", async () => {
    const started: number[] = [];
    const counting: ImageSource = {
      name: "counting", length: 40, labels: new Int32Array(40), classNames: ["0"], channels: 1,
      where: (i) => `img${i}`,
      read: async (i) => { started.push(i); return makeImage(8, 8, 1); },
      spec: () => { throw new Error("not needed"); },
    };
    const loader = createLoader(counting, { batchSize: 4, task: { channels: 1, mean: [0], std: [1] }, workers: 0, prefetch: 3 });
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    await Bun.sleep(5);
    expect(started.length).toBeGreaterThanOrEqual(12); // the first batch plus at least 2 more in flight
    await it.return?.();
  });

  test("Fashion-MNIST end to end with a worker; close() stops it", async () => {
    const fm = loadFashionMnist("test");
    const loader = createLoader(fm, { ...opts, batchSize: 64, limit: 200, shuffle: true, seed: 0 });
    const batches = await collect(loader);
    expect(batches.map((b) => b.taskShape[0])).toEqual([64, 64, 64, 8]);
    const firstIdx = batches[0].indices[0];
    expect(batches[0].labels[0]).toBe(fm.labels[firstIdx]);
    loader.close();
    await expect(collect(loader)).rejects.toThrow("loader is closed");
  });

  test("mixed image sizes without a crop are a clear error", async () => {
    const mixed: ImageSource = {
      name: "mixed", length: 2, labels: new Int32Array(2), classNames: ["0"], channels: 1, where: (i) => `file${i}.png`,
      read: async (i): Promise<Image> => makeImage(i === 0 ? 8 : 9, 8, 1), spec: () => { throw new Error("no"); },
    };
    const loader = createLoader(mixed, { batchSize: 2, task: { channels: 1, mean: [0], std: [1] }, workers: 0 });
    await expect(collect(loader)).rejects.toThrow("file1.png: image is 1x9x8 after the task transform, the batch expects 1x8x8");
  });
});
