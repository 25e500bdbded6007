// --plan-only: the models' parameter tables and the activation arenas they would plan at the step's shapes, built
// without allocating (runs on any machine), and what the official (all, aux) variant would hold on the device.
import { convnextLayout } from "../../src/models/convnext.ts";
import { sitLayout } from "../../src/models/sit.ts";
import type { Row } from "../table.ts";
import { configs, tables, type Preset } from "./models.ts";

const MiB = 2 ** 20;

export function planRows(preset: Preset, B: number, K = 6): Row[] {
  const c = configs(preset), t = tables(preset), N = B * K;
  // the VAE's forward-only chain runs in three buffers of its largest map (conv_in's output: blockOut[0] channels)
  const vaeForward = 3 * B * c.vae.blockOut[0] * c.vaeSize * c.vaeSize * 4;
  const act: Record<string, [number, number]> = {
    task: [convnextLayout(c.task, B, c.taskSize, c.taskSize).arena.bytes, convnextLayout(c.task, B, c.taskSize, c.taskSize).arena.bytes],
    vae: [Number.NaN, vaeForward],
    sit: [sitLayout(c.sit, N, true).bytes, sitLayout(c.sit, N, false).bytes],
    dit: [sitLayout(c.dit, N, true).bytes, sitLayout(c.dit, N, false).bytes],
  };
  const rows: Row[] = Object.entries(t).map(([name, table]) => ({
    model: name, tensors: table.entries.length, "params (M)": table.total / 1e6, "param MiB": (4 * table.total) / MiB,
    "act MiB, training plan": Number.isNaN(act[name][0]) ? "-" : act[name][0] / MiB, "act MiB, forward-only plan": act[name][1] / MiB,
  }));
  // official (all, aux) with SiT: every parameter of task and SiT has a gradient, Adam m and v, and the episodic
  // snapshot (values, m, v); the VAE holds its parameters only
  const trained = t.task.total + t.sit.total, bytes = 4 * (trained * (1 + 1 + 2 + 3) + t.vae.total);
  rows.push({
    model: "SiT (all, aux): param MiB = values+grads+Adam+snapshot", tensors: "-", "params (M)": (trained + t.vae.total) / 1e6, "param MiB": bytes / MiB,
    "act MiB, training plan": (act.task[0] + act.sit[0] + vaeForward) / MiB, "act MiB, forward-only plan": "-",
  });
  return rows;
}
