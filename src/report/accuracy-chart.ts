// accuracy.png: per-task accuracy bars, the method beside the source model, with dashed lines at the means.
// Drawn as SVG and rasterised by sharp at 2x.
import sharp from "sharp";
import { writeFileAtomic } from "./atomic-write.ts";
import { resultMeans, type TaskResult } from "./task-result.ts";

const COLORS = { method: "#2b6cb0", source: "#a0aec0", sourceLine: "#4a5568", grid: "#e2e8f0", axis: "#2d3748", text: "#1a202c" };
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
const MARGIN = { left: 90, right: 120, top: 96, bottom: 150 };
const PLOT_HEIGHT = 340;
const LABEL_GAP = 15;
export const CHART_SCALE = 2;

export interface ChartInfo {
  name: string;
  method: string; // legend label of the adapted model
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const text = (x: number, y: number, body: string, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(body)}</text>`;

export function accuracySvg(results: readonly TaskResult[], info: ChartInfo): string {
  const n = Math.max(results.length, 1);
  const slot = n <= 20 ? 60 : n <= 40 ? 40 : 26;
  const plotWidth = n * slot, width = Math.max(MARGIN.left + plotWidth + MARGIN.right, 560), height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const y = (acc: number) => MARGIN.top + PLOT_HEIGHT * (1 - acc / 100);
  const hasSource = results.some((r) => r.sourceAccuracy !== undefined);
  const oneSeverity = new Set(results.map((r) => r.severity)).size === 1;
  const means = resultMeans(results);
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];

  // title, subtitle, legend
  parts.push(text(MARGIN.left, 32, `${info.name}: accuracy per task`, `font-size="20" font-weight="bold" fill="${COLORS.text}"`));
  const subtitle = means ? `mean ${info.method} ${means.accuracy.toFixed(1)}%${means.sourceAccuracy !== undefined ? `, source ${means.sourceAccuracy.toFixed(1)}% (${means.gain! >= 0 ? "+" : "−"}${Math.abs(means.gain!).toFixed(1)} pp)` : ""} over ${means.tasks} tasks${oneSeverity && results.length ? `, severity ${results[0].severity}` : ""}` : "no results yet";
  parts.push(text(MARGIN.left, 56, subtitle, `font-size="14" fill="${COLORS.axis}"`));
  const legend = [{ label: info.method, color: COLORS.method }, ...(hasSource ? [{ label: "source", color: COLORS.source }] : [])];
  legend.forEach((item, i) => {
    const lx = MARGIN.left + i * 130;
    parts.push(`<rect x="${lx}" y="68" width="14" height="14" fill="${item.color}"/>`, text(lx + 20, 80, item.label, `font-size="13" fill="${COLORS.text}"`));
  });

  // y axis: grid every 10 %, labels every 20 %
  for (let acc = 0; acc <= 100; acc += 10) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(acc)}" y2="${y(acc)}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    if (acc % 20 === 0) parts.push(text(MARGIN.left - 8, y(acc) + 4, String(acc), `font-size="12" text-anchor="end" fill="${COLORS.axis}"`));
  }
  const midY = MARGIN.top + PLOT_HEIGHT / 2;
  parts.push(text(34, midY, "accuracy (%)", `font-size="13" text-anchor="middle" transform="rotate(-90 34 ${midY})" fill="${COLORS.text}"`));

  // bars and task labels
  const barWidth = hasSource ? slot * 0.36 : slot * 0.6;
  results.forEach((r, i) => {
    const cx = MARGIN.left + (i + 0.5) * slot;
    const mx = hasSource ? cx : cx - barWidth / 2;
    if (hasSource && r.sourceAccuracy !== undefined) parts.push(`<rect x="${(cx - barWidth).toFixed(1)}" y="${y(r.sourceAccuracy).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(0) - y(r.sourceAccuracy)).toFixed(1)}" fill="${COLORS.source}"/>`);
    parts.push(`<rect x="${mx.toFixed(1)}" y="${y(r.accuracy).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(0) - y(r.accuracy)).toFixed(1)}" fill="${COLORS.method}"/>`);
    if (slot >= 40) parts.push(text(mx + barWidth / 2, y(Math.max(r.accuracy, r.sourceAccuracy ?? 0)) - 4, r.accuracy.toFixed(1), `font-size="10" text-anchor="middle" fill="${COLORS.text}"`));
    const label = oneSeverity ? r.corruption : r.task;
    parts.push(text(cx, y(0) + 14, label, `font-size="12" text-anchor="end" transform="rotate(-40 ${cx.toFixed(1)} ${(y(0) + 14).toFixed(1)})" fill="${COLORS.text}"`));
  });

  // means, labelled at the right end; labels of close means are pushed apart
  const meanLine = (acc: number, color: string, label: string, labelY: number) =>
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(acc)}" y2="${y(acc)}" stroke="${color}" stroke-width="2" stroke-dasharray="8 5"/>`,
      text(MARGIN.left + plotWidth + 6, labelY + 4, `${label} ${acc.toFixed(1)}`, `font-size="12" fill="${color}"`),
    );
  if (means) {
    let [methodY, sourceY] = [y(means.accuracy), y(means.sourceAccuracy ?? means.accuracy)];
    const gap = LABEL_GAP - Math.abs(methodY - sourceY);
    if (means.sourceAccuracy !== undefined && gap > 0) [methodY, sourceY] = methodY <= sourceY ? [methodY - gap / 2, sourceY + gap / 2] : [methodY + gap / 2, sourceY - gap / 2];
    if (means.sourceAccuracy !== undefined) meanLine(means.sourceAccuracy, COLORS.sourceLine, "source", sourceY);
    meanLine(means.accuracy, COLORS.method, info.method, methodY);
  }

  // axes
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${y(0)}" stroke="${COLORS.axis}" stroke-width="1.5"/>`);
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(0)}" y2="${y(0)}" stroke="${COLORS.axis}" stroke-width="1.5"/>`);
  const xTitle = oneSeverity && results.length ? `corruption (severity ${results[0].severity})` : "task (corruption-severity)";
  parts.push(text(MARGIN.left + plotWidth / 2, height - 14, xTitle, `font-size="13" text-anchor="middle" fill="${COLORS.text}"`));

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">\n${parts.join("\n")}\n</svg>\n`;
}

export async function accuracyPng(results: readonly TaskResult[], info: ChartInfo): Promise<Buffer> {
  return sharp(Buffer.from(accuracySvg(results, info)), { density: 72 * CHART_SCALE }).png().toBuffer();
}

export async function writeAccuracyPng(file: string, results: readonly TaskResult[], info: ChartInfo): Promise<void> {
  writeFileAtomic(file, await accuracyPng(results, info));
}
