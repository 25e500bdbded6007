// A loader worker: rebuilds the source from its spec, then answers batch requests with transferred buffers.
import { buildBatch, sourceFromSpec, type BatchOptions } from "./batch.ts";
import { DataError } from "./errors.ts";
import type { ImageSource, SourceSpec } from "./source.ts";

declare const self: Worker;

let source: ImageSource | undefined;
let options: BatchOptions | undefined;

export type LoaderRequest =
  | { type: "init"; spec: SourceSpec; options: BatchOptions }
  | { type: "batch"; id: number; indices: Int32Array };

self.onmessage = async (event: MessageEvent<LoaderRequest>) => {
  const msg = event.data;
  if (msg.type === "init") { source = sourceFromSpec(msg.spec); options = msg.options; return; }
  try {
    const { batch, skipped } = await buildBatch(source!, msg.indices, options!);
    const transfer = [batch.task.buffer, batch.labels.buffer, batch.indices.buffer, ...(batch.aux ? [batch.aux.buffer] : [])];
    self.postMessage({ type: "batch", id: msg.id, batch, skipped }, transfer as Transferable[]);
  } catch (e) {
    const err = e instanceof DataError ? { path: e.path, detail: e.detail } : { detail: (e as Error).stack ?? String(e) };
    self.postMessage({ type: "error", id: msg.id, error: err });
  }
};
