// Frost textures. The reference overlays crops of five photographs of frosted glass; we synthesise
// comparable ones (white-blue haze plus fern-like ice crystals) from the seed, or load the user's images.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { dcos, dsin } from "../detmath.ts";
import { DataError } from "../errors.ts";
import { makeImage, type Image } from "../image.ts";
import { cvResizeLinear } from "../resample.ts";
import { Rng } from "../rng.ts";
import { gaussianFilter } from "./filters.ts";
import { plasmaFractal } from "./plasma.ts";

export const FROST_TEXTURE_COUNT = 5; // the reference draws randint(5): frost1..frost5
const NATIVE_SIZE = 512;

const synthesized = new Map<string, Image>();

export function synthesizeFrost(seed: number, index: number, size = NATIVE_SIZE): Image {
  const key = `${seed}/${index}/${size}`;
  let tex = synthesized.get(key);
  if (!tex) synthesized.set(key, (tex = drawFrost(seed, index, size)));
  return tex;
}

function drawFrost(seed: number, index: number, size: number): Image {
  const rng = new Rng(seed, "frost-texture", index);
  const haze = plasmaFractal(nextPow2(size), 1.6, rng);
  const crystals = new Float64Array(size * size);
  const seeds = Math.round((size * size) / 2600);
  for (let s = 0; s < seeds; s++) {
    const x = rng.uniformIn(0, size), y = rng.uniformIn(0, size), angle = rng.uniformIn(0, 2 * Math.PI);
    growDendrite(crystals, size, x, y, angle, rng.uniformIn(0.06, 0.22) * size, 0, rng.uniformIn(0.35, 0.8), rng);
  }
  const sharp1 = gaussianFilter(crystals, size, size, 1, 0.6);
  const glow = gaussianFilter(crystals, size, size, 1, 3.0);
  const grainNoise = new Float64Array(size * size);
  for (let i = 0; i < grainNoise.length; i++) grainNoise[i] = rng.normal();
  const grain = gaussianFilter(grainNoise, size, size, 1, 1.2);
  const out = makeImage(size, size, 3), hs = nextPow2(size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const i = y * size + x;
    const h = haze[y * hs + x];
    let v = 0.3 + 0.45 * h * h + 0.9 * Math.min(sharp1[i], 1.2) + 0.35 * Math.min(glow[i], 1) + 0.12 * grain[i];
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    out.data[i * 3] = Math.round(255 * (0.05 + 0.83 * v));
    out.data[i * 3 + 1] = Math.round(255 * (0.07 + 0.88 * v));
    out.data[i * 3 + 2] = Math.round(255 * (0.1 + 0.9 * v));
  }
  return out;
}

// A slightly wandering trunk with side branches at about +-60 degrees, alternating, shorter towards the tip.
function growDendrite(canvas: Float64Array, size: number, x: number, y: number, angle: number, length: number, depth: number, brightness: number, rng: Rng): void {
  const step = 1.5;
  let side = rng.uniform() < 0.5 ? 1 : -1, nextBranch = rng.uniformIn(3, 8);
  for (let t = 0; t < length; t += step) {
    const nx = x + step * dcos(angle), ny = y + step * dsin(angle);
    drawSegment(canvas, size, x, y, nx, ny, brightness * (1 - (0.5 * t) / length));
    x = nx; y = ny;
    angle += rng.uniformIn(-0.06, 0.06);
    if (depth < 2 && t >= nextBranch) {
      const remaining = length - t;
      growDendrite(canvas, size, x, y, angle + side * rng.uniformIn(0.9, 1.2), remaining * rng.uniformIn(0.25, 0.5), depth + 1, brightness * 0.85, rng);
      side = -side;
      nextBranch = t + rng.uniformIn(3, 8) * (depth + 1);
    }
  }
}

function drawSegment(canvas: Float64Array, size: number, x0: number, y0: number, x1: number, y1: number, v: number): void {
  const n = Math.max(1, Math.ceil(2 * Math.sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0))));
  for (let k = 0; k < n; k++) {
    const t = (k + 0.5) / n, x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
    const ix = Math.floor(x), iy = Math.floor(y), fx = x - ix, fy = y - iy;
    splat(canvas, size, ix, iy, (1 - fx) * (1 - fy) * v * 0.5);
    splat(canvas, size, ix + 1, iy, fx * (1 - fy) * v * 0.5);
    splat(canvas, size, ix, iy + 1, (1 - fx) * fy * v * 0.5);
    splat(canvas, size, ix + 1, iy + 1, fx * fy * v * 0.5);
  }
}

const splat = (canvas: Float64Array, size: number, x: number, y: number, w: number): void => {
  x = ((x % size) + size) % size; y = ((y % size) + size) % size; // wrap: textures tile
  canvas[y * size + x] += w;
};

const nextPow2 = (n: number): number => { let p = 1; while (p < n) p *= 2; return p; };

// Textures for a parameter table: synthesised, or the user's images (sorted by name; like the reference,
// which lists frost1..frost6 but draws randint(5), only the first five are used), shrunk by `resize`.
export async function loadFrostTextures(opts: { seed: number; resize: number; dir?: string }): Promise<Image[]> {
  let natives: Image[];
  if (opts.dir) {
    let names: string[];
    try { names = readdirSync(opts.dir).filter((f) => /\.(png|jpe?g|webp|bmp|tiff?)$/i.test(f)).sort(); }
    catch (e) { throw new DataError(opts.dir, `cannot read frost image folder (${(e as NodeJS.ErrnoException).code ?? e})`, { cause: e }); }
    if (names.length === 0) throw new DataError(opts.dir, "no frost images (.png, .jpg) in folder");
    natives = [];
    for (const name of names.slice(0, FROST_TEXTURE_COUNT)) {
      const path = join(opts.dir, name);
      try {
        const { data, info } = await sharp(path).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
        natives.push(makeImage(info.height, info.width, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length)));
      } catch (e) {
        throw new DataError(path, `cannot decode frost image (${(e as Error).message})`, { cause: e });
      }
    }
  } else {
    natives = Array.from({ length: FROST_TEXTURE_COUNT }, (_, k) => synthesizeFrost(opts.seed, k));
  }
  return natives.map((img) => (opts.resize === 1 ? img : cvResizeLinear(img, opts.resize)));
}
