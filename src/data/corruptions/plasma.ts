// The reference's plasma_fractal (diamond-square, "a modification of FLHerne/mapgen diamondsquare.py"):
// a mapsize x mapsize height map in [0, 1]. Random offsets are wibble * U(-wibble, wibble), wibble starting at
// 100 and divided by `wibbleDecay` each level; values drawn in row-major order of each filled grid.
import type { Rng } from "../rng.ts";

export function plasmaFractal(mapsize: number, wibbleDecay: number, rng: Rng): Float64Array {
  if ((mapsize & (mapsize - 1)) !== 0) throw new Error(`plasma map size must be a power of two, got ${mapsize}`);
  const m = mapsize, map = new Float64Array(m * m);
  let step = m, wibble = 100;
  const at = (i: number, j: number) => map[i * m + j];
  const wibbled = (sum: number) => sum / 4 + wibble * rng.uniformIn(-wibble, wibble);
  while (step >= 2) {
    const k = m / step, half = step / 2;
    // squares: centre = mean of the 4 corners (wrapping) + noise
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const i1 = ((i + 1) % k) * step, j1 = ((j + 1) % k) * step, i0 = i * step, j0 = j * step;
      map[(i0 + half) * m + j0 + half] = wibbled((at(i0, j0) + at(i1, j0)) + (at(i0, j1) + at(i1, j1)));
    }
    // diamonds: first the points between horizontal corner pairs, then between vertical pairs
    const top = new Float64Array(k * k), left = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const ip = ((i - 1 + k) % k) * step, jn = ((j + 1) % k) * step, jp = ((j - 1 + k) % k) * step, in_ = ((i + 1) % k) * step;
      const ci = i * step + half, cj = j * step + half;
      top[i * k + j] = (at(ci, cj) + at(ip + half, cj)) + (at(i * step, j * step) + at(i * step, jn));
      left[i * k + j] = (at(ci, cj) + at(ci, jp + half)) + (at(i * step, j * step) + at(in_, j * step));
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) map[i * step * m + j * step + half] = wibbled(top[i * k + j]);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) map[(i * step + half) * m + j * step] = wibbled(left[i * k + j]);
    step /= 2;
    wibble /= wibbleDecay;
  }
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < map.length; i++) min = Math.min(min, map[i]);
  for (let i = 0; i < map.length; i++) max = Math.max(max, (map[i] -= min));
  for (let i = 0; i < map.length; i++) map[i] /= max;
  return map;
}
