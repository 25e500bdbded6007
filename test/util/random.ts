// Seeded test inputs. Every run draws a fresh seed (printed in failure messages); DUSA_TEST_SEED replays one.
export type Rng = { next: () => number; seed: number };

export function makeRng(seed: number): Rng {
  let s = seed >>> 0;
  return {
    seed,
    next() {
      // mulberry32
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export function freshSeed(): number {
  const fixed = process.env.DUSA_TEST_SEED;
  return fixed ? Number(fixed) : Math.floor(Math.random() * 2 ** 31);
}

export function freshRng(): Rng {
  return makeRng(freshSeed());
}

/** Float32-representable values, so a float64 reference sees exactly what the kernel sees. */
export function uniform(rng: Rng, n: number, low = -1, high = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rng.next();
  return out;
}

export function normal(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = 1 - rng.next(), u2 = rng.next();
    out[i] = std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

export function integers(rng: Rng, n: number, high: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * high);
  return out;
}
