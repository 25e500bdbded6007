// Number formats shared by the summary, the progress line and the chart.
export const pct = (x: number | undefined, digits = 1): string => (x === undefined ? "—" : x.toFixed(digits));
export const signed = (x: number | undefined, digits = 1): string => (x === undefined ? "—" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`);

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) [n, u] = [n / 1024, u + 1];
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export const rate = (perSec: number): string => (perSec >= 100 ? perSec.toFixed(0) : perSec.toFixed(1));

/** A phase total: "90 ms", "12.3 s", "1:02:03". */
export function milliseconds(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
  return ms < 600_000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms / 1000);
}
