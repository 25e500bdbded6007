// Reading generated corruption benchmarks back, one (corruption, severity) task at a time:
// - CIFAR-10-C style: <root>/<corruption>.npy (uint8 (5n, H, W[, C])) + <root>/labels.npy, severity s = rows
//   (s-1)n .. sn. A meta.json written by our generator may list other severities.
// - ImageNet-C style: <root>/<corruption>/<severity>/<class>/*.JPEG.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { openImageFolder, type ImageFolderOptions, type ImageFolderSource } from "./image-folder.ts";
import { readNpyHeader, readNpyImages, readNpyLabels } from "./npy.ts";
import { ArraySource } from "./source.ts";

export interface NpyBenchmarkMeta { severities: number[]; classNames?: string[] }

export function readNpyBenchmarkMeta(root: string): NpyBenchmarkMeta {
  const path = join(root, "meta.json");
  if (!existsSync(path)) return { severities: [1, 2, 3, 4, 5] };
  try {
    const meta = JSON.parse(readFileSync(path, "utf8"));
    if (!Array.isArray(meta.severities) || meta.severities.some((s: unknown) => !Number.isInteger(s))) throw new Error("'severities' must be a list of integers");
    return meta;
  } catch (e) {
    throw new DataError(path, `bad meta.json (${(e as Error).message})`, { cause: e });
  }
}

export function openNpyTask(root: string, corruption: string, severity: number): ArraySource {
  const imagesPath = join(root, `${corruption}.npy`), labelsPath = join(root, "labels.npy");
  if (!existsSync(root)) throw new DataError(root, "benchmark folder not found");
  if (!existsSync(imagesPath)) throw new DataError(imagesPath, `no file for corruption '${corruption}'`);
  const meta = readNpyBenchmarkMeta(root);
  const slot = meta.severities.indexOf(severity);
  if (slot < 0) throw new DataError(imagesPath, `severity ${severity} not stored (severities: ${meta.severities.join(", ")})`);
  const rows = readNpyHeader(imagesPath).shape[0];
  if (rows % meta.severities.length !== 0) throw new DataError(imagesPath, `${rows} rows do not split into ${meta.severities.length} severities`);
  const n = rows / meta.severities.length;
  const images = readNpyImages(imagesPath, { start: slot * n, end: (slot + 1) * n });
  const allLabels = readNpyLabels(labelsPath);
  if (allLabels.length !== rows && allLabels.length !== n) throw new DataError(labelsPath, `${allLabels.length} labels for ${rows} rows of ${imagesPath}`);
  const labels = allLabels.length === n ? allLabels : allLabels.slice(slot * n, (slot + 1) * n);
  return new ArraySource({
    name: `${corruption}-${severity}`, path: `${imagesPath}#severity${severity}`, images: images.data, count: n,
    height: images.height, width: images.width, channels: images.channels, labels, classNames: meta.classNames,
  });
}

export async function openImageNetCTask(root: string, corruption: string, severity: number, opts: ImageFolderOptions = {}): Promise<ImageFolderSource> {
  if (!existsSync(root)) throw new DataError(root, "benchmark folder not found");
  const corruptionDir = join(root, corruption);
  if (!existsSync(corruptionDir)) throw new DataError(corruptionDir, `missing corruption folder '${corruption}'`);
  const severityDir = join(corruptionDir, String(severity));
  if (!existsSync(severityDir)) throw new DataError(severityDir, `missing severity folder ${severity}`);
  return openImageFolder(severityDir, { name: `${corruption}-${severity}`, ...opts });
}
