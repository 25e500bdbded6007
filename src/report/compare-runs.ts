// Several runs' per-task accuracies side by side, as one markdown table: the task, the source accuracy (from the
// first run that has one for the task), then per run its accuracy and its gain over that run's own source
// accuracy. The mean row averages each column over the tasks every run finished, so the means compare like with
// like; tasks some run lacks are listed with "—" there and left out of the means. Grouped (by severity or by
// corruption), each row is instead a group's mean over the tasks of that group every run finished.
import { basename } from "node:path";
import { pct, signed } from "./format.ts";
import { readResults } from "./results-file.ts";
import { ReportError } from "./report-error.ts";
import { mean, resultMeans, type TaskResult } from "./task-result.ts";

export type ComparedRun = { label: string; results: readonly TaskResult[] };

export function readComparedRun(dir: string, label?: string): ComparedRun {
  const results = readResults(dir);
  if (!results.length) throw new ReportError(dir, "no finished tasks (results.json is missing or empty)");
  return { label: label ?? basename(dir.replace(/\/+$/, "")), results };
}

export type Grouping = "task" | "severity" | "corruption";

export function comparisonTable(runs: readonly ComparedRun[], by: Grouping = "task"): string {
  if (!runs.length) throw new Error("compare: no runs");
  const byTask = runs.map((r) => new Map(r.results.map((t) => [t.task, t])));
  const tasks: string[] = [];
  for (const r of runs) for (const t of r.results) if (!tasks.includes(t.task)) tasks.push(t.task);
  const common = tasks.filter((t) => byTask.every((m) => m.has(t)));
  const source = (task: string) => byTask.map((m) => m.get(task)?.sourceAccuracy).find((s) => s !== undefined);
  const images = (task: string) => {
    const ns = [...new Set(byTask.map((m) => m.get(task)?.n).filter((n) => n !== undefined))];
    return ns.join(" / ");
  };
  const header = ["task", "n", "source %", ...runs.flatMap((r) => [`${r.label} %`, "Δ pp"])];
  const cells = (task: string) => [
    task, images(task), pct(source(task)),
    ...byTask.flatMap((m) => {
      const t = m.get(task);
      return t ? [pct(t.accuracy), signed(t.sourceAccuracy === undefined ? undefined : t.accuracy - t.sourceAccuracy)] : ["—", "—"];
    }),
  ];
  const meanRow = (label: string, group: string[], bold: boolean) => {
    const sources = group.map(source).filter((s): s is number => s !== undefined);
    const b = (text: string) => (bold ? `**${text}**` : text);
    return [
      label, by === "task" ? "" : String(group.length), sources.length === group.length ? pct(mean(sources)) : "—",
      ...byTask.flatMap((m) => {
        const means = resultMeans(group.map((t) => m.get(t)!))!;
        return [b(pct(means.accuracy)), means.sourceTasks === means.tasks ? signed(means.gain) : "—"];
      }),
    ];
  };
  const rows: string[][] = [];
  if (by === "task") rows.push(...tasks.map(cells));
  else {
    const key = (task: string) => {
      const t = byTask.map((m) => m.get(task)).find((r) => r !== undefined)!;
      return by === "severity" ? `severity ${t.severity}` : t.corruption;
    };
    const groups = [...new Set(common.map(key))];
    if (by === "severity") groups.sort();
    for (const g of groups) rows.push(meanRow(g, common.filter((t) => key(t) === g), false));
    header[0] = by;
    header[1] = "tasks";
  }
  if (common.length)
    rows.push(meanRow(`**mean** (${common.length}${common.length < tasks.length ? ` of ${tasks.length}, the tasks every run finished` : ""})`, common, true));
  const line = (c: string[]) => `| ${c.join(" | ")} |`;
  return [line(header), line(header.map((_, i) => (i < 1 ? "---" : "--:"))), ...rows.map(line)].join("\n") + "\n";
}
