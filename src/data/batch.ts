// Reading and transforming one batch of images; runs in a loader worker or on the calling thread.
import { DataError } from "./errors.ts";
import { ImageFolderSource } from "./image-folder.ts";
import type { Image } from "./image.ts";
import { ArraySource, type ImageSource, type SourceSpec } from "./source.ts";
import { applyGeometry, auxShape, checkShape, writeAuxTensor, writeTaskTensor, type AuxTransform, type TaskTransform } from "./transforms.ts";

export interface Batch {
  task: Float32Array; // (B, C, H, W), normalised
  taskShape: [number, number, number, number];
  aux?: Float32Array; // (B, C, H', W') in [-1, 1]
  auxShape?: [number, number, number, number];
  labels: Int32Array; // (B,)
  indices: Int32Array; // (B,) positions in the source
}

export interface BatchOptions {
  task: TaskTransform;
  aux?: AuxTransform;
  skipBad?: boolean;
}

export interface BatchResult { batch: Batch; skipped: string[] }

export const sourceFromSpec = (spec: SourceSpec): ImageSource =>
  spec.kind === "array" ? new ArraySource(spec) : ImageFolderSource.fromSpec(spec);

export async function buildBatch(source: ImageSource, indices: Int32Array, opts: BatchOptions): Promise<BatchResult> {
  const reads = await Promise.allSettled(Array.from(indices, (i) => source.read(i)));
  const images: Image[] = [], kept: number[] = [], skipped: string[] = [];
  reads.forEach((r, k) => {
    if (r.status === "fulfilled") { images.push(r.value); kept.push(indices[k]); return; }
    if (!opts.skipBad || !(r.reason instanceof DataError)) throw r.reason;
    skipped.push(source.where(indices[k]));
  });
  const B = images.length;
  const prepared = images.map((img) => applyGeometry(img, opts.task));
  const [C, H, W] = B > 0 ? [prepared[0].channels, prepared[0].height, prepared[0].width] : [opts.task.channels, 0, 0];
  const task = new Float32Array(B * C * H * W);
  const aShape = opts.aux ? auxShape(opts.aux, C) : undefined;
  const aux = aShape ? new Float32Array(B * aShape[0] * aShape[1] * aShape[2]) : undefined;
  prepared.forEach((img, b) => {
    checkShape(img, [C, H, W], source.where(kept[b]));
    writeTaskTensor(img, opts.task, task, b * C * H * W);
    if (aux && aShape && opts.aux) writeAuxTensor(img, opts.aux, aux, b * aShape[0] * aShape[1] * aShape[2]);
  });
  const labels = Int32Array.from(kept, (i) => source.labels[i]);
  return {
    batch: { task, taskShape: [B, C, H, W], aux, auxShape: aShape ? [B, ...aShape] : undefined, labels, indices: Int32Array.from(kept) },
    skipped,
  };
}
