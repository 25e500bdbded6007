// The EMA of trained parameters: timm's warm-up decay, frozen entries untouched, state round trip.
import { expect, test } from "bun:test";
import { SiT } from "../../src/models/sit.ts";
import { Ema } from "../../src/pretrain/ema.ts";
import { trainSiT } from "../../src/pretrain/sit.ts";
import { cpuContext } from "../util/context.ts";
import { freshRng, normal } from "../util/random.ts";

const ctx = cpuContext();

test("shadow = d·shadow + (1 − d)·params with d = min(decay, (1 + n)/(10 + n)); pos_embed stays bit-identical", () => {
  const rng = freshRng();
  const sit = new SiT(ctx, { inputSize: 8, patchSize: 2, inChannels: 4, hidden: 16, depth: 1, heads: 2, mlpRatio: 2, numClasses: 10, learnSigma: false });
  sit.params.train(trainSiT);
  const pos = sit.params.p("pos_embed").readFloat();
  const ema = new Ema(sit.params, 0.5);
  let ref = Float64Array.from(sit.params.values.readFloat());
  const decays: number[] = [];
  for (let n = 0; n < 12; n++) {
    const p = sit.params.values.readFloat();
    const next = normal(rng, p.length);
    next.set(pos, sit.table.get("pos_embed").offset);
    sit.params.values.write(next);
    const d = ema.currentDecay;
    decays.push(d);
    ema.update();
    const trained = (i: number) => !(i >= sit.table.get("pos_embed").offset && i < sit.table.get("pos_embed").offset + pos.length);
    ref = ref.map((r, i) => (trained(i) ? d * r + (1 - d) * next[i] : r));
  }
  expect(decays[0]).toBeCloseTo(0.1, 12);
  expect(decays[1]).toBeCloseTo(2 / 11, 12);
  expect(decays[11]).toBe(0.5); // (1 + 8) / (10 + 8) reaches the decay
  const shadow = ema.shadow.readFloat();
  for (let i = 0; i < ref.length; i += 97) expect(shadow[i]).toBeCloseTo(ref[i], 5);
  expect(Array.from(ema.get().get("pos_embed")!)).toEqual(Array.from(pos));
  const copy = new Ema(sit.params, 0.5);
  copy.load(ema.state());
  expect(copy.updates).toBe(12);
  expect(Array.from(copy.shadow.readFloat())).toEqual(Array.from(shadow));
  copy.free();
  ema.free();
  sit.free();
});
