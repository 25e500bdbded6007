// float32 <-> bf16 storage casts against an independent definition: the nearest bf16 by exact float64 distance,
// ties to the even mantissa, NaN kept (sign preserved, quiet), overflow to inf; bf16 -> float32 exact.
import { expect, test } from "bun:test";
import { cpuContext } from "../util/context.ts";
import { freshRng } from "../util/random.ts";

const ctx = cpuContext();
const word = new Uint32Array(1), real = new Float32Array(word.buffer);
const asFloat = (bits: number) => ((word[0] = bits >>> 0), real[0]);

/** The bf16 bits of the float32 with these bits, from the definition of round-to-nearest-even. */
function referenceBf16(bits: number): number {
  bits >>>= 0;
  const sign = bits & 0x80000000, abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff; // NaN: quiet, same sign and top payload
  if (abs === 0x7f800000) return bits >>> 16; // inf stays inf
  const x = Math.abs(asFloat(abs));
  const lo = abs & 0xffff0000, hi = lo + 0x10000; // hi may be the inf pattern: the next value up
  const dLo = x - asFloat(lo), dHi = hi >= 0x7f800000 ? (hi === 0x7f800000 ? 2 ** 128 - x : Infinity) : asFloat(hi) - x;
  const pick = dLo < dHi || (dLo === dHi && ((lo >>> 16) & 1) === 0) ? lo : hi;
  return ((sign | pick) >>> 16) & 0xffff;
}

function cast(floats: Float32Array): Uint16Array {
  const input = ctx.upload(floats, [floats.length]), output = ctx.alloc([floats.length], "act", "bf16");
  ctx.call("dusa_f32_to_bf16", output, input, floats.length);
  const bits = output.read() as Uint16Array;
  input.free();
  output.free();
  return bits;
}

const hex = (x: number) => `0x${(x >>> 0).toString(16)}`;

test("f32 -> bf16: special values, ties, subnormals, overflow, and random bit patterns", () => {
  const special = [
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, // zeros, infs, NaNs (signalling too)
    0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, // 1, ties to even (down, up), just above and below a tie
    0x00000001, 0x00008000, 0x00018000, 0x007fffff, 0x00800000, // subnormals (a tie to 0, a tie up), the largest, the smallest normal
    0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0xff7fffff, // the largest finite floats: round to inf, a tie to inf, stay finite
  ];
  const rng = freshRng();
  const patterns = Uint32Array.from([...special, ...Array.from({ length: 200_000 }, () => Math.floor(rng.next() * 2 ** 32))]);
  const got = cast(new Float32Array(patterns.buffer));
  for (let i = 0; i < patterns.length; i++) {
    const want = referenceBf16(patterns[i]);
    if (got[i] !== want) throw new Error(`f32 ${hex(patterns[i])} -> bf16 ${hex(got[i])}, want ${hex(want)} (seed ${rng.seed})`);
  }
  expect(got[special.indexOf(0x3f808000)]).toBe(0x3f80);
  expect(got[special.indexOf(0x3f818000)]).toBe(0x3f82);
  expect(got[special.indexOf(0x7f7fffff)]).toBe(0x7f80);
});

test("bf16 -> f32 is exact for all 65536 patterns, and f32 -> bf16 gives them back", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const input = ctx.upload(all, [all.length]), output = ctx.alloc([all.length]);
  ctx.call("dusa_bf16_to_f32", output, input, all.length);
  const floats = output.read() as Float32Array, words = new Uint32Array(floats.buffer);
  for (let i = 0; i < all.length; i++) if (words[i] !== i << 16 >>> 0) throw new Error(`bf16 ${hex(i)} -> f32 ${hex(words[i])}`);
  const back = cast(floats);
  for (let i = 0; i < all.length; i++) {
    const isNaN = (i & 0x7fff) > 0x7f80;
    const want = isNaN ? i | 0x40 : i;
    if (back[i] !== want) throw new Error(`round trip of bf16 ${hex(i)} gave ${hex(back[i])}`);
  }
  input.free();
  output.free();
});

test("bf16 tensors: 2 bytes per element, bits in and out as Uint16Array, numbers refused", () => {
  const t = ctx.alloc([3, 5], "act", "bf16");
  expect(t.bytes).toBe(30);
  t.write(Uint16Array.from({ length: 15 }, (_, i) => 0x3f80 + i));
  expect(Array.from(t.slice(4, [2]).read())).toEqual([0x3f84, 0x3f85]);
  expect(() => t.write(new Array(15).fill(1))).toThrow(/takes bf16 bits as a Uint16Array/);
  expect(() => t.fill(0)).toThrow(/fill on bf16/);
  expect(() => ctx.call("dusa_f32_to_bf16", t, null, 15)).toThrow(/dusa_f32_to_bf16.*in is null/);
  t.free();
});
