// bun run pretrain: usage errors exit with status 2 and say what is wrong.
import { expect, test } from "bun:test";
import { join } from "node:path";

const cli = join(import.meta.dir, "..", "..", "src", "cli", "pretrain.ts");

function run(...args: string[]) {
  const p = Bun.spawnSync(["bun", cli, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

test("unknown model, bad numbers and contradictory flags are usage errors", () => {
  expect(run("gan")).toEqual({ code: 2, out: expect.stringContaining("unknown model 'gan': one of classifier, vae, sit") });
  expect(run("vae", "--epochs", "0")).toEqual({ code: 2, out: expect.stringContaining("--epochs must be an integer ≥ 1, got '0'") });
  expect(run("sit", "--resume", "--fresh")).toEqual({ code: 2, out: expect.stringContaining("--resume and --fresh contradict each other") });
  const help = run("--help");
  expect(help.code).toBe(0);
  for (const flag of ["--epochs", "--batch", "--lr", "--seed", "--out", "--resume", "--limit", "--eval-only", "--threads"]) expect(help.out).toContain(flag);
});
