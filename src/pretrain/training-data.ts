// The images a run trains on and their order: the Fashion-MNIST training set (or its first `limit` images: a fixed
// subset, the same every epoch), reshuffled every epoch by a seed derived from (seed, epoch), in full batches
// only, through the data layer's loader and transforms (task: 28→32 zero pad and normalisation; aux: [-1, 1]).
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { createLoader, loaderOrder, type Batch } from "../data/loader.ts";
import { ArraySource } from "../data/source.ts";
import { FASHION_MNIST_AUX, FASHION_MNIST_TASK } from "../data/transforms.ts";

/** The first n images of an in-memory source (no copy). */
export function firstImages(source: ArraySource, n: number): ArraySource {
  if (n >= source.length) return source;
  const spec = source.spec(), size = spec.height * spec.width * spec.channels;
  return new ArraySource({ ...spec, name: `${spec.name}[:${n}]`, images: spec.images.subarray(0, n * size), count: n, labels: spec.labels.slice(0, n) });
}

export function fashionMnistTrain(limit: number | null): ArraySource {
  const all = loadFashionMnist("train");
  return limit === null ? all : firstImages(all, limit);
}

export function fashionMnistTest(limit: number | null): ArraySource {
  const all = loadFashionMnist("test");
  return limit === null ? all : firstImages(all, limit);
}

/** The shuffling seed of an epoch (a safe integer for every seed a config allows). */
export const epochSeed = (seed: number, epoch: number): number => (seed % 2 ** 32) * 65_536 + (epoch % 65_536);

export const batchesPerEpoch = (images: number, batch: number): number => Math.floor(images / batch);

/** The order of an epoch: a permutation of the source's indices. */
export const epochOrder = (images: number, seed: number, epoch: number): Int32Array => loaderOrder(images, { shuffle: true, seed: epochSeed(seed, epoch) });

/** The full batches of an epoch from batch `from` on (earlier ones are skipped: resuming inside an epoch). */
export async function* epochBatches(source: ArraySource, batch: number, seed: number, epoch: number, from: number, withAux: boolean): AsyncGenerator<Batch> {
  const loader = createLoader(source, {
    batchSize: batch, task: FASHION_MNIST_TASK, aux: withAux ? FASHION_MNIST_AUX : undefined,
    shuffle: true, seed: epochSeed(seed, epoch), workers: 0, dropLast: true, prefetch: 2,
  });
  try {
    let b = 0;
    for await (const x of loader) if (b++ >= from) yield x;
  } finally {
    loader.close();
  }
}
