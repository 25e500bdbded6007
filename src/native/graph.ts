// A step recorded once and replayed per batch. On the CUDA backend a recording is a CUDA graph (dusa_graph_*); on
// the CPU backend it is the list of native calls, replayed in order. Either way recording runs nothing, and whatever
// needs the host inside it (allocation, a copy to or from the host, a sync, a host array argument) is refused, so a
// step that records on the CPU records on a GPU too. Pointers are fixed at recording: a graph whose tensors were
// freed since is stale, and replaying it is an error rather than a fault.
import type { Tensor } from "./tensor.ts";

export type RecordedCall = { name: string; fn: (...args: unknown[]) => number; raw: unknown[]; args: string };

export class Graph {
  #freed = false;
  constructor(
    private readonly owner: { replay(graph: Graph): void; destroyGraph(graph: Graph): void },
    readonly native: number | null,
    readonly calls: readonly RecordedCall[],
    readonly tensors: ReadonlySet<Tensor>,
    readonly ops: number,
  ) {}

  /** Whether a tensor the graph reads or writes has been freed since it was recorded. */
  get stale(): boolean {
    for (const t of this.tensors) if (t.freed) return true;
    return false;
  }

  get freed(): boolean {
    return this.#freed;
  }

  replay(): void {
    if (this.#freed) throw new Error("dusa: replay of a freed graph");
    this.owner.replay(this);
  }

  free(): void {
    if (this.#freed) return;
    this.owner.destroyGraph(this);
    this.#freed = true;
  }
}
