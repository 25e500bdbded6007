// A generator worker: rebuilds the source and the corruption context, then runs chunks on request.
import { sourceFromSpec } from "./batch.ts";
import { runChunk, type JobConfig } from "./corrupt-job.ts";
import { DataError } from "./errors.ts";
import type { ImageSource, SourceSpec } from "./source.ts";
import type { CorruptionContext } from "./corruptions/index.ts";

declare const self: Worker;

export type CorruptRequest =
  | { type: "init"; spec: SourceSpec; config: JobConfig; ctx: CorruptionContext }
  | { type: "chunk"; id: number; indices: number[] };

let source: ImageSource, config: JobConfig, ctx: CorruptionContext;

self.onmessage = async (event: MessageEvent<CorruptRequest>) => {
  const msg = event.data;
  if (msg.type === "init") { source = sourceFromSpec(msg.spec); config = msg.config; ctx = msg.ctx; return; }
  try {
    const result = await runChunk(source, msg.indices, config, ctx);
    self.postMessage({ type: "chunk", id: msg.id, result }, result.blocks.map((b) => b.data.buffer) as Transferable[]);
  } catch (e) {
    const error = e instanceof DataError ? { path: e.path, detail: e.detail } : { detail: (e as Error).stack ?? String(e) };
    self.postMessage({ type: "error", id: msg.id, error });
  }
};
