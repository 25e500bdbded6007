// Comparison and gradient-checking helpers shared by the op tests.
import { expect } from "bun:test";
import type { Context, Tensor } from "../../src/native/index.ts";

export type F64 = Float64Array;

export function toF64(a: ArrayLike<number>): F64 {
  return Float64Array.from(a);
}

/** ||actual - ref|| / max(||ref||, floor) (absolute norm of the difference when both are zero). */
export function norm2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export function relErr(actual: ArrayLike<number>, ref: ArrayLike<number>, floor = 0): number {
  if (actual.length !== ref.length) throw new Error(`relErr: length ${actual.length} vs ${ref.length}`);
  let diff = 0, norm = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = actual[i] - ref[i];
    diff += d * d;
    norm += ref[i] * ref[i];
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  norm = Math.max(norm, floor * floor);
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

/**
 * Asserts relErr(actual, ref, floor) <= tol, with the label and the seed in the message. `floor` is the norm of
 * the terms a result is summed from, for results that can cancel far below their terms.
 */
export function expectClose(label: string, actual: ArrayLike<number>, ref: ArrayLike<number>, tol: number, seed?: number, floor = 0): void {
  const err = relErr(actual, ref, floor);
  const where = seed === undefined ? "" : ` (seed ${seed}; replay with DUSA_TEST_SEED=${seed})`;
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 0; i < ref.length; i++) if (!(Math.abs(actual[i] - ref[i]) <= Math.abs(actual[worst] - ref[worst]))) worst = i;
    throw new Error(`${label}: relative error ${err.toExponential(3)} > ${tol}${where}; worst at [${worst}]: got ${actual[worst]}, want ${ref[worst]}`);
  }
  expect(err).toBeLessThanOrEqual(tol);
}

/** Allocates an output tensor filled with NaN, so a kernel that skips an element is caught. */
export function poisoned(ctx: Context, shape: readonly number[]): Tensor {
  return ctx.alloc(shape).fill(Number.NaN);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite differences in float64 of L(x) = <f(inputs), upstream> with respect to inputs[which].
 * f must be a float64 forward reference.
 */
export function finiteDiff(f: (inputs: F64[]) => ArrayLike<number>, inputs: F64[], upstream: ArrayLike<number>, which: number, h = 1e-6): F64 {
  const x = inputs[which];
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const plus = dot(f(inputs), upstream);
    x[i] = saved - h;
    const minus = dot(f(inputs), upstream);
    x[i] = saved;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/**
 * d/dh L(base + h·dir) at h = 0 by central differences with one Richardson step (error O(h⁴)), for checking a
 * whole model's backward in float32: set() installs a point, loss() evaluates it; base is restored at the end.
 */
export function directionalDerivative(loss: () => number, base: Float32Array, dir: ArrayLike<number>, set: (a: Float32Array) => void, h = 1e-2): number {
  const central = (step: number) => {
    set(base.map((b, i) => b + step * dir[i]));
    const plus = loss();
    set(base.map((b, i) => b - step * dir[i]));
    const minus = loss();
    return (plus - minus) / (2 * step);
  };
  const coarse = central(h), fine = central(h / 2);
  set(base);
  return (4 * fine - coarse) / 3;
}

/**
 * Asserts a directional derivative (numeric, from directionalDerivative) against <grad, dir>. The bound is
 * relative to the typical size of a random direction's derivative, |grad| |dir| / sqrt(n): float32 loss noise
 * does not shrink when one direction's derivative happens to cancel.
 */
export function expectDirectional(label: string, numeric: number, grad: ArrayLike<number>, dir: ArrayLike<number>, tol = 1e-2, seed?: number): void {
  const analytic = dot(grad, dir);
  let active = 0;
  for (let i = 0; i < dir.length; i++) if (dir[i] !== 0) active++;
  const typical = (norm2(grad) * norm2(dir)) / Math.sqrt(Math.max(active, 1));
  const err = Math.abs(numeric - analytic) / Math.max(typical, Math.abs(analytic), 1e-30);
  if (!(err <= tol)) throw new Error(`${label}: directional derivative ${numeric} vs <grad, dir> ${analytic} (error ${err.toExponential(2)} of the typical ${typical.toExponential(2)} > ${tol})${seed === undefined ? "" : ` seed ${seed}`}`);
  expect(err).toBeLessThanOrEqual(tol);
}
