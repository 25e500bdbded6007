// One probe of the max-micro-batch search, in its own process (a failed attempt leaves nothing behind): builds the
// models and the method at batch B and runs one step with its update. Prints one JSON line:
//   {"ok": true, "peak_bytes": {...}} or {"ok": false, "oom": <a clean DusaError out of memory>, "error": "..."}
// Usage: bun bench/full/probe.ts <device> <preset> <variant id> <batch> [memory limit bytes]
import { DusaError, openContext, parseDevice } from "../../src/native/index.ts";
import { buildModels, freeModels, type Models } from "./models.ts";
import { VARIANTS, makeBatch, makeMethod, peaks } from "./ours.ts";

const [device, preset, id, batch, limit] = process.argv.slice(2);
const variant = VARIANTS.find((v) => v.id === id);
if (!variant || (preset !== "full" && preset !== "tiny")) throw new Error(`probe: bad arguments ${process.argv.slice(2).join(" ")}`);
const ctx = openContext(parseDevice(device, "cpu"), 0, { log: null });
if (limit) ctx.setMemoryLimit(Number(limit));
let models: Partial<Models> = {};
try {
  models = buildModels(ctx, preset, variant.gen);
  const method = makeMethod(ctx, models as Models, variant);
  const { batch: b } = makeBatch(ctx, preset, Number(batch));
  method.step(b, 0);
  ctx.sync();
  console.log(JSON.stringify({ ok: true, peak_bytes: peaks(ctx.memory()) }));
} catch (e) {
  const oom = e instanceof DusaError && e.status === 2;
  console.log(JSON.stringify({ ok: false, oom, error: String((e as Error).message ?? e).split("\n")[0].slice(0, 400) }));
} finally {
  freeModels(models);
  ctx.destroy();
}
