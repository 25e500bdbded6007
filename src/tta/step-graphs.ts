// Graph replay of adaptation steps: a step is run eagerly the first time its buffers are seen (that allocates
// them), recorded as a graph the second time, and replayed from then on. A key names everything a recording bakes
// in (batch shape, input buffers, storage, whether the step updates); a graph whose tensors were freed since (a new
// batch size reallocated the arenas) is dropped and the step warms up again.
import type { Context, Graph } from "../native/index.ts";

/** off: always eager; auto: graphs on the CUDA backend; on: graphs on every backend, a failed recording is an error. */
export type GraphMode = "off" | "auto" | "on";
export const GRAPH_MODES = ["off", "auto", "on"] as const;

export type StepRun = "eager" | "recorded" | "replayed";

export class StepGraphs {
  #graphs = new Map<string, Graph>();
  #seen = new Set<string>();
  #active: boolean;
  /** Why graphs were turned off (a failed recording in auto mode), for the run's log. */
  note: string | null = null;

  constructor(readonly ctx: Context, readonly mode: GraphMode, unsupported: string | null = null) {
    this.#active = mode === "on" || (mode === "auto" && ctx.backend === "cuda");
    if (this.#active && unsupported) {
      if (mode === "on") throw new Error(`graph=on: ${unsupported}`);
      this.#active = false;
      this.note = `graph: off (${unsupported})`;
    }
  }

  get active(): boolean {
    return this.#active;
  }

  /** Runs `enqueue` (device work only) for this key: eagerly, or recorded and replayed. */
  run(key: string, enqueue: () => void): StepRun {
    if (!this.#active) {
      enqueue();
      return "eager";
    }
    let graph = this.#graphs.get(key);
    if (graph?.stale) {
      graph.free();
      this.#graphs.delete(key);
      this.#seen.delete(key);
      graph = undefined;
    }
    if (!graph) {
      if (!this.#seen.has(key)) {
        this.#seen.add(key);
        enqueue();
        return "eager";
      }
      try {
        graph = this.ctx.record(enqueue);
      } catch (e) {
        if (this.mode === "on") throw e;
        this.#active = false;
        this.note = `graph: recording the step failed, steps run eagerly: ${(e as Error).message}`;
        enqueue();
        return "eager";
      }
      this.#graphs.set(key, graph);
      graph.replay();
      return "recorded";
    }
    graph.replay();
    return "replayed";
  }

  free(): void {
    for (const g of this.#graphs.values()) g.free();
    this.#graphs.clear();
    this.#seen.clear();
  }
}
