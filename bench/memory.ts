// bun bench memory: per step variant and batch (the runs of bench/step.ts, each in its own process), the peak bytes
// per tag of the context's memory accounting over the timed steps, activation bytes per image (act peak / B), the
// process's peak RSS, and PyTorch's peak RSS for the same step beside it.
import { tags } from "../src/native/index.ts";
import type { VariantRuns } from "./step.ts";
import type { Row } from "./table.ts";

const MiB = 2 ** 20;

export function memoryRows({ runs }: VariantRuns): Row[] {
  return runs.map(({ label, batch, ours, pytorch }) => {
    const row: Row = { method: label, batch };
    for (const tag of tags) row[`${tag} MiB`] = ours.peaks[tag] / MiB;
    row["act MiB/img"] = ours.peaks.act / batch / MiB;
    row["peak RSS MiB"] = ours.peakRss / MiB;
    if (pytorch) {
      row["PyTorch RSS MiB"] = pytorch.peak_rss_mib;
      row["RSS ours/PyTorch"] = ours.peakRss / MiB / pytorch.peak_rss_mib;
    }
    return row;
  });
}
