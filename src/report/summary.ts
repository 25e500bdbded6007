// summary.md: what ran, the per-task table (method beside source), means, per-severity means when there are
// several severities, missing tasks, and where the time and memory went.
import type { Config } from "../config/schema/index.ts";
import { bytes, duration, milliseconds, pct, rate, signed } from "./format.ts";
import { profileJson, type Profile } from "./profile.ts";
import { resultMeans, type TaskResult } from "./task-result.ts";

export interface SummaryInfo {
  name: string;
  config?: Config;
  expectedTasks?: readonly string[]; // the run's task list; the ones without a result are listed as missing
  profile?: Profile;
  notes?: readonly string[]; // extra lines (e.g. "merged from ...")
}

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;

function describeRun(c: Config): string {
  const m = c.method, d = c.data;
  const what = m.name === "dusa" ? `dusa (adapt ${m.adapt.task}${m.adapt.aux ? " + generative" : ""}, ${m.family} t ${m.t}, topk ${m.topk} + ${m.rand_budget})` : m.name === "tent" ? `tent (adapt ${m.adapt.task})` : m.name;
  const models = m.name === "dusa" ? `${c.model.task} + ${c.model.generative} (${c.model.vae})` : c.model.task;
  const batch = `batch ${d.batch_size}${m.accumulate > 1 ? ` x ${m.accumulate} accumulated` : ""}`;
  const lr = (x: number) => (x < 0.01 ? x.toExponential() : String(x));
  const optim = m.name === "source" ? "" : `, ${m.optimizer.name} lr ${lr(m.lr)}${m.name === "dusa" && m.adapt.aux && m.aux_lr !== m.lr ? ` (generative ${lr(m.aux_lr)})` : ""}`;
  return `**${what}** on ${models}; ${d.dataset}, severities ${d.severities.join(", ")}, ${d.limit ?? "all"} images per task; ${c.mode}, ${batch}${optim}, seed ${c.seed}${c.storage === "bf16" ? ", bf16 storage" : ""}.`;
}

// Columns 2 and 4 (source %, Δ pp) only when the run scored the unadapted model beside the method.
const withoutSource = (cells: (string | number)[], keep: boolean) => (keep ? cells : cells.filter((_, i) => i !== 2 && i !== 4));

function taskTable(results: readonly TaskResult[], method: string): string[] {
  const means = resultMeans(results)!, src = results.some((r) => r.sourceAccuracy !== undefined);
  const lines = [
    row(withoutSource(["task", "n", "source %", `${method} %`, "Δ pp", "error %", "loss", "img/s"], src)),
    row(withoutSource(["---", "--:", "--:", "--:", "--:", "--:", "--:", "--:"], src)),
    ...results.map((r) =>
      row(withoutSource([r.task, r.n, pct(r.sourceAccuracy), pct(r.accuracy), signed(r.sourceAccuracy === undefined ? undefined : r.accuracy - r.sourceAccuracy), pct(r.error), r.loss === undefined ? "—" : r.loss.toPrecision(4), rate(r.imagesPerSec)], src)),
    ),
    row(withoutSource([`**mean** (${means.tasks})`, means.images, pct(means.sourceAccuracy), `**${pct(means.accuracy)}**`, signed(means.gain), pct(means.error), "", rate(means.imagesPerSec)], src)),
  ];
  return lines;
}

function severityTable(results: readonly TaskResult[], method: string): string[] {
  const severities = [...new Set(results.map((r) => r.severity))].sort((a, b) => a - b);
  if (severities.length < 2) return [];
  const src = results.some((r) => r.sourceAccuracy !== undefined);
  return [
    "",
    "## Per severity",
    "",
    row(withoutSource(["severity", "tasks", "source %", `${method} %`, "Δ pp"], src)),
    row(withoutSource(["--:", "--:", "--:", "--:", "--:"], src)),
    ...severities.map((s) => {
      const m = resultMeans(results.filter((r) => r.severity === s))!;
      return row(withoutSource([s, m.tasks, pct(m.sourceAccuracy), pct(m.accuracy), signed(m.gain)], src));
    }),
  ];
}

function profileTable(profile: Profile): string[] {
  const json = profileJson(profile) as { phases: Record<string, { ms: number; calls: number; share: number }> };
  const lines = ["", "## Profile", "", row(["phase", "total", "calls", "per call", "share"]), row(["---", "--:", "--:", "--:", "--:"])];
  for (const [name, p] of Object.entries(json.phases)) lines.push(row([name, milliseconds(p.ms), p.calls, p.calls ? milliseconds(p.ms / p.calls) : "—", `${(100 * p.share).toFixed(1)}%`]));
  const tags = Object.entries(profile.peakBytes);
  if (tags.length) lines.push("", `Peak memory: ${tags.map(([tag, n]) => `${tag} ${bytes(n)}`).join(", ")}.`);
  return lines;
}

export function summaryMarkdown(results: readonly TaskResult[], info: SummaryInfo): string {
  const method = info.config?.method.name ?? "method";
  const lines = [`# ${info.name}`, ""];
  if (info.config) lines.push(describeRun(info.config), "");
  for (const note of info.notes ?? []) lines.push(note, "");
  const means = resultMeans(results);
  if (!means) {
    lines.push("No task has finished yet.");
  } else {
    const vsSource = means.sourceAccuracy === undefined ? "" : ` vs source ${pct(means.sourceAccuracy)}% (${signed(means.gain)} pp${means.sourceTasks < means.tasks ? `, over the ${means.sourceTasks} tasks with a source accuracy` : ""})`;
    lines.push(`Mean accuracy **${pct(means.accuracy)}%**${vsSource}; mean error ${pct(means.error)}%. ${means.tasks} tasks, ${means.images} images, ${duration(means.seconds)} (${rate(means.imagesPerSec)} images/s).`, "");
    lines.push(...taskTable(results, method), ...severityTable(results, method));
  }
  const done = new Set(results.map((r) => r.task));
  const missing = (info.expectedTasks ?? []).filter((t) => !done.has(t));
  if (missing.length) lines.push("", `**Missing:** ${missing.length} of ${info.expectedTasks!.length} tasks have no result: ${missing.join(", ")}.`);
  const bad = results.filter((r) => r.badSteps > 0);
  if (bad.length) lines.push("", `**Non-finite losses:** ${bad.map((r) => `${r.task} (${r.badSteps} steps)`).join(", ")}.`);
  if (info.profile) lines.push(...profileTable(info.profile));
  if (info.profile?.device) lines.push("", `Device: ${info.profile.device}.`);
  return lines.join("\n") + "\n";
}
