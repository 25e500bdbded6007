import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fixture } from "./helpers.ts";

const root = join(import.meta.dir, "..", "..");

function inspect(...args: string[]): { code: number; stdout: string; stderr: string } {
  const run = Bun.spawnSync(["bun", "run", "inspect", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

describe("bun run inspect", () => {
  test("a train checkpoint: the unwrapped wrapper, every tensor, totals, the other entries", () => {
    const { code, stdout } = inspect(fixture("train_checkpoint.pt"));
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(`${fixture("train_checkpoint.pt")}: PyTorch zip checkpoint, 70,704 bytes`);
    expect(lines).toContain("top-level keys: model, ema, opt, args, steps, metrics");
    expect(lines).toContain("unwrapped: 'ema'");
    expect(stdout).toMatch(/\ny_embedder\.embedding_table\.weight\s+F32\s+\[4, 4\]\s+16\n/);
    expect(stdout).toMatch(/\npos_embed\s+F32\s+\[1, 4, 4\]\s+16\n/);
    expect(stdout).toContain("\n38 tensors, 913 parameters, 3,652 bytes (F32: 38 tensors, 3,652 bytes)\n");
    expect(stdout).toContain('  args: {"model":"SiT-XL/2","encoder_depth":8,');
    expect(stdout).toContain("  steps: 3");
  });

  test("--filter keeps matching names; totals follow the filter", () => {
    const { code, stdout } = inspect(fixture("dtypes.pt"), "--filter", "^(f16|bf16|i64)$");
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nf16\s+F16\s+\[3, 5\]\s+15\n/);
    expect(stdout).toMatch(/\nbf16\s+BF16\s+\[4, 3\]\s+12\n/);
    expect(stdout).toMatch(/\ni64\s+I64\s+\[2, 3\]\s+6\n/);
    expect(stdout).not.toMatch(/\nf16_t /);
    expect(stdout).not.toContain("top-level keys"); // a raw state dict: nothing was unwrapped
    expect(stdout).toContain("3 tensors matching /^(f16|bf16|i64)$/ (of 9), 33 parameters, 102 bytes (F16: 1 tensor, 30 bytes; BF16: 1 tensor, 24 bytes; I64: 1 tensor, 48 bytes)");
  });

  test("--raw lists the stored names; safetensors metadata is shown", () => {
    const raw = inspect(fixture("ddp_state_dict.pth"), "--raw").stdout;
    expect(raw).toMatch(/\nstate_dict\.module\.weight\s+F32\s+\[2, 3\]\s+6\n/);
    expect(raw).not.toContain("unwrapped");
    const vae = inspect(fixture("vae_encoder.safetensors")).stdout;
    expect(vae).toContain("metadata:\n  scaling_factor = 0.18215");
  });

  test("bad input exits 2 with the reason", () => {
    const malicious = inspect(fixture("malicious.pt"));
    expect(malicious.code).toBe(2);
    expect(malicious.stderr).toContain("refusing pickle global 'posix.system'");
    expect(malicious.stdout).toBe("");
    const missing = inspect(join(root, "no-such-checkpoint.pt"));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no-such-checkpoint.pt: no such file");
    expect(inspect().code).toBe(2);
    expect(inspect(fixture("raw_state_dict.pt"), "--filter", "(").stderr).toContain("--filter: Invalid regular expression");
  });
});
