// The tasks of a run: one per (corruption, severity), every corruption at the first severity, then every
// corruption at the next (the order of continual benchmarks); a plain image folder is a single task.
import { basename, resolve } from "node:path";
import type { Config } from "./schema/index.ts";
import { shardTasks } from "./shard.ts";

export interface Task {
  name: string; // "gaussian_noise-5"; a folder dataset: the folder's name
  corruption: string; // the folder's name for a folder dataset
  severity: number; // 0 for a folder dataset
}

export const taskName = (corruption: string, severity: number): string => `${corruption}-${severity}`;

export function taskList(config: Pick<Config, "data">): Task[] {
  const { data } = config;
  if (data.dataset === "folder") {
    const name = basename(resolve(data.root ?? "."));
    return [{ name, corruption: name, severity: 0 }];
  }
  return data.severities.flatMap((severity) => data.corruptions.map((corruption) => ({ name: taskName(corruption, severity), corruption, severity })));
}

/** The tasks this process runs: the task list, cut to its shard. */
export const runTasks = (config: Pick<Config, "data" | "shard">): Task[] => shardTasks(taskList(config), config.shard);
