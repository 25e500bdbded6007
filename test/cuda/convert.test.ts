// CUDA vs CPU: float32 <-> bf16 casts, bit for bit (special values, ties, random bit patterns; a zero-length call).
import { test } from "bun:test";
import { freshRng } from "../util/random.ts";
import { check, cudaSuite, inp, out, outB } from "./harness.ts";

cudaSuite("cuda: bf16 casts", (pair) => {
  test("f32 -> bf16 and bf16 -> f32 bit-identical to the CPU backend", () => {
    const rng = freshRng();
    const special = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0x3f808000, 0x3f818000, 0x00008000, 0x00018000, 0x7f7fffff];
    for (const n of [special.length, 4097, 70_001]) {
      const words = Uint32Array.from({ length: n }, (_, i) => (i < special.length ? special[i] : Math.floor(rng.next() * 2 ** 32)));
      const where = `n=${n} seed ${rng.seed}`;
      check(pair, { label: `f32 -> bf16 ${where}`, op: "dusa_f32_to_bf16", args: [outB("out", n), inp(new Float32Array(words.buffer)), n] });
      const halves = Uint16Array.from({ length: n }, (_, i) => words[i] >>> 16);
      check(pair, { label: `bf16 -> f32 ${where}`, op: "dusa_bf16_to_f32", args: [out("out", n, { exact: true }), inp(halves), n] });
    }
    check(pair, { label: "n = 0 writes nothing", op: "dusa_f32_to_bf16", args: [outB("out", 3, { written: () => false }), inp(new Float32Array(3)), 0] });
  });
});
