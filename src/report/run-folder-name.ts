// runs/<YYYY-MM-DD>-<name>[-shard<i>of<n>][-<N>]: local date; N counts up from 2 when the folder exists.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseShard } from "../config/shard.ts";

const pad = (n: number) => String(n).padStart(2, "0");
export const localDate = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

export function runFolderStem(name: string, date: Date, shard: string | null = null): string {
  const s = shard === null ? null : parseShard(shard);
  return `${localDate(date)}-${name}${s ? `-shard${s.index}of${s.count}` : ""}`;
}

/** Creates a new, empty run folder under `root` (mkdir is atomic, so parallel jobs never share one). */
export function createRunFolder(root: string, stem: string): string {
  mkdirSync(root, { recursive: true });
  for (let n = 1; ; n++) {
    const path = join(root, n === 1 ? stem : `${stem}-${n}`);
    try {
      mkdirSync(path);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
