import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A temporary folder removed after the test file.
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dusa-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
