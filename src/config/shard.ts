// shard=i/n: this process runs tasks i, i+n, i+2n, ... of the task list (0-based i), so that a job array of n
// processes covers every task once (e.g. shard=$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT).
import { ConfigError } from "./config-error.ts";

export interface Shard {
  index: number;
  count: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new ConfigError({ path: "shard", problem: `${JSON.stringify(text)} is not a shard`, allowed: '"i/n" with 0 <= i < n (0-based shard i of n)' });
  }
  return { index, count };
}

export const formatShard = (s: Shard): string => `${s.index}/${s.count}`;

/** Every n-th task starting at i; the whole list when `shard` is null. */
export function shardTasks<T>(tasks: readonly T[], shard: string | Shard | null): T[] {
  if (shard === null) return [...tasks];
  const { index, count } = typeof shard === "string" ? parseShard(shard) : shard;
  return tasks.filter((_, k) => k % count === index);
}
