// bun run corrupt — generate corrupted copies of a dataset (CIFAR-10-C style .npy or ImageNet-C style folders).
import { cac } from "cac";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateCorruptions } from "../data/corrupt.ts";
import type { Geometry } from "../data/corrupt-job.ts";
import { ALL_CORRUPTIONS, isCorruptionName, type CorruptionName, type SizeFamily } from "../data/corruptions/names.ts";
import { DataError } from "../data/errors.ts";
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { openImageFolder } from "../data/image-folder.ts";
import { readNpyImages, readNpyLabels } from "../data/npy.ts";
import { writeCorruptionPreview } from "../data/preview.ts";
import { ArraySource, type ImageSource } from "../data/source.ts";

const cli = cac("corrupt");

cli
  .command("", "Generate the 15 standard + 4 extra corruptions x 5 severities of a dataset")
  .option("--dataset <spec>", "fmnist | fmnist-train | npy:<images.npy> | folder:<class-per-folder root>", { default: "fmnist" })
  .option("--labels <path>", "labels .npy for npy: datasets (default: labels.npy beside the images)")
  .option("--out <dir>", "output folder")
  .option("--format <format>", "npy (CIFAR-10-C style) | folder (ImageNet-C style)", { default: "npy" })
  .option("--corruptions <list>", "comma-separated corruption names", { default: ALL_CORRUPTIONS.join(",") })
  .option("--severities <list>", "comma-separated severities", { default: "1,2,3,4,5" })
  .option("--seed <n>", "random seed", { default: 0 })
  .option("--limit <n>", "only the first N images")
  .option("--table <table>", "parameter table: auto (cifar up to 64 px, else imagenet) | cifar | imagenet", { default: "auto" })
  .option("--frost-dir <dir>", "frost images to overlay (default: synthesised textures)")
  .option("--pad <n>", "zero-pad images to n x n first (default 32 for fmnist; 0 = none)")
  .option("--resize <n>", "resize the shorter side to n first (PIL bilinear)")
  .option("--crop <n>", "centre-crop to n x n after resizing")
  .option("--channels <n>", "1 or 3 (default: the dataset's)")
  .option("--image-format <format>", "folder output: jpeg (quality 85, like ImageNet-C) | png", { default: "jpeg" })
  .option("--workers <n>", "worker threads (default: number of cores; 0 = main thread)")
  .option("--skip-bad", "skip unreadable images and report how many")
  .option("--preview <png>", "write a contact sheet (rows = corruptions, columns = severities)")
  .option("--preview-images <n>", "images per contact-sheet cell", { default: 3 })
  .example("bun run corrupt --dataset fmnist --out data/fmnist-c --preview fmnist-c.png")
  .example("bun run corrupt --dataset folder:/data/imagenet/val --resize 256 --crop 224 --format folder --out /data/ImageNet-C")
  .action(main);

cli.help();

function list(value: unknown): string[] {
  return String(value).split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function positiveInt(name: string, value: unknown, allowZero = false): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new UsageError(`--${name} must be a ${allowZero ? "non-negative" : "positive"} integer, got '${value}'`);
  return n;
}

class UsageError extends Error {}

async function openDataset(spec: string, labelsPath?: string): Promise<{ source: ImageSource; isFashionMnist: boolean }> {
  if (spec === "fmnist" || spec === "fmnist-test") return { source: loadFashionMnist("test"), isFashionMnist: true };
  if (spec === "fmnist-train") return { source: loadFashionMnist("train"), isFashionMnist: true };
  if (spec.startsWith("npy:")) {
    const path = spec.slice(4);
    const images = readNpyImages(path);
    const lp = labelsPath ?? join(dirname(path), "labels.npy");
    if (!existsSync(lp)) throw new DataError(lp, "labels file not found (pass --labels)");
    const labels = readNpyLabels(lp);
    if (labels.length !== images.count) throw new DataError(lp, `${labels.length} labels for ${images.count} images in ${path}`);
    return { source: new ArraySource({ name: path, path, images: images.data, count: images.count, height: images.height, width: images.width, channels: images.channels, labels }), isFashionMnist: false };
  }
  if (spec.startsWith("folder:")) return { source: await openImageFolder(spec.slice(7)), isFashionMnist: false };
  throw new UsageError(`--dataset must be fmnist, fmnist-train, npy:<path> or folder:<path>, got '${spec}'`);
}

async function main(o: Record<string, unknown>): Promise<void> {
  const corruptions = list(o.corruptions);
  const unknown = corruptions.filter((c) => !isCorruptionName(c));
  if (unknown.length > 0) throw new UsageError(`unknown corruption(s) ${unknown.join(", ")}; known: ${ALL_CORRUPTIONS.join(", ")}`);
  const severities = list(o.severities).map(Number);
  if (severities.length === 0 || severities.some((s) => !Number.isInteger(s) || s < 1 || s > 5)) throw new UsageError(`--severities must be a list of 1..5, got '${o.severities}'`);
  if (!["npy", "folder"].includes(String(o.format))) throw new UsageError(`--format must be npy or folder, got '${o.format}'`);
  if (!["auto", "cifar", "imagenet"].includes(String(o.table))) throw new UsageError(`--table must be auto, cifar or imagenet, got '${o.table}'`);
  if (!["jpeg", "png"].includes(String(o.imageFormat))) throw new UsageError(`--image-format must be jpeg or png, got '${o.imageFormat}'`);
  if (o.out === undefined && o.preview === undefined) throw new UsageError("give --out <dir> and/or --preview <png>");

  const { source, isFashionMnist } = await openDataset(String(o.dataset), o.labels === undefined ? undefined : String(o.labels));
  const pad = o.pad !== undefined ? positiveInt("pad", o.pad, true) : isFashionMnist ? 32 : 0;
  const geometry: Partial<Geometry> = {};
  if (o.resize !== undefined) geometry.resize = positiveInt("resize", o.resize);
  if (o.crop !== undefined) geometry.centerCrop = positiveInt("crop", o.crop);
  if (pad > 0) geometry.pad = pad;
  if (o.channels !== undefined) {
    const c = Number(o.channels);
    if (c !== 1 && c !== 3) throw new UsageError(`--channels must be 1 or 3, got '${o.channels}'`);
    geometry.channels = c;
  }
  const seed = positiveInt("seed", o.seed, true);
  const limit = o.limit !== undefined ? positiveInt("limit", o.limit) : undefined;
  const frostDir = o.frostDir === undefined ? undefined : String(o.frostDir);
  const table = String(o.table) as SizeFamily | "auto";

  if (o.out !== undefined) {
    const out = String(o.out);
    const tty = process.stderr.isTTY;
    const report = await generateCorruptions({
      source, out, format: o.format as "npy" | "folder", corruptions: corruptions as CorruptionName[], severities, seed, limit, geometry, table, frostDir,
      workers: o.workers !== undefined ? positiveInt("workers", o.workers, true) : undefined,
      imageFormat: o.imageFormat as "jpeg" | "png", skipBad: Boolean(o.skipBad),
      onProgress: (done, total, s) => {
        if (tty) process.stderr.write(`\r${done}/${total} chunks, ${s.toFixed(1)} s, ETA ${((s / done) * (total - done)).toFixed(0)} s   `);
      },
    });
    if (tty) process.stderr.write("\n");
    console.log(`${report.images} images x ${report.tasks} (corruption, severity) tasks [${report.shape.join("x")}, ${report.family} table] → ${out} in ${report.seconds.toFixed(1)} s`);
    if (report.skipped.length > 0) console.log(`skipped ${report.skipped.length} unreadable image(s):\n  ${report.skipped.slice(0, 20).join("\n  ")}${report.skipped.length > 20 ? "\n  ..." : ""}`);
  }
  if (o.preview !== undefined) {
    await writeCorruptionPreview(String(o.preview), {
      source, corruptions: corruptions as CorruptionName[], severities, seed, family: table, frostDir, limit,
      geometry: { channels: source.channels === 1 ? 1 : 3, ...geometry },
      count: positiveInt("preview-images", o.previewImages),
    });
    console.log(`preview → ${o.preview}`);
  }
}

try {
  cli.parse(process.argv, { run: false });
  await cli.runMatchedCommand();
} catch (e) {
  if (e instanceof DataError || e instanceof UsageError || (e as Error).name === "CACError") {
    console.error(`corrupt: ${(e as Error).message}`);
    process.exit(2);
  }
  throw e;
}
