// One chunk of the corruption generator: read images [start, end), apply the geometry once, then every
// (corruption, severity); used by the generator's workers (and inline when workers = 0).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import sharp from "sharp";
import { DataError } from "./errors.ts";
import { ImageFolderSource } from "./image-folder.ts";
import type { Image } from "./image.ts";
import type { ImageSource } from "./source.ts";
import { applyGeometry, type TaskTransform } from "./transforms.ts";
import { corruptImages, type CorruptionContext, type CorruptionName } from "./corruptions/index.ts";

export type Geometry = Pick<TaskTransform, "resize" | "interpolation" | "centerCrop" | "pad" | "channels">;

export interface JobConfig {
  seed: number;
  corruptions: CorruptionName[];
  severities: number[];
  geometry: Geometry;
  format: "npy" | "folder";
  out: string;
  imageFormat: "jpeg" | "png";
  skipBad: boolean;
  classDirs: string[]; // folder output: class index → folder name
  shape: [height: number, width: number, channels: number]; // every prepared image must have it
}

export interface ChunkResult {
  start: number;
  end: number;
  // npy: one (end - start) x H x W x C block per (corruption, severity), in config order
  blocks: { corruption: CorruptionName; severity: number; data: Uint8Array }[];
  skipped: string[];
  written: number; // folder: files written
}

export async function readPrepared(source: ImageSource, i: number, geometry: Geometry): Promise<Image> {
  return applyGeometry(await source.read(i), geometry);
}

export async function runChunk(source: ImageSource, indices: number[], cfg: JobConfig, ctx: CorruptionContext): Promise<ChunkResult> {
  const images: Image[] = [], kept: number[] = [], skipped: string[] = [];
  for (const i of indices) {
    try {
      const img = await readPrepared(source, i, cfg.geometry);
      const [H, W, C] = cfg.shape;
      if (img.height !== H || img.width !== W || img.channels !== C)
        throw new DataError(source.where(i), `image is ${img.height}x${img.width}x${img.channels} after resize/crop/pad, the others are ${H}x${W}x${C} (set --resize/--crop)`);
      images.push(img);
      kept.push(i);
    } catch (e) {
      if (!(cfg.skipBad && e instanceof DataError)) throw e;
      skipped.push(source.where(i));
    }
  }
  const result: ChunkResult = { start: indices[0], end: indices[indices.length - 1] + 1, blocks: [], skipped, written: 0 };
  for (const corruption of cfg.corruptions) {
    for (const severity of cfg.severities) {
      const out = await corruptImages(images, kept, corruption, severity, cfg.seed, ctx);
      if (cfg.format === "npy") {
        const bytes = out.length > 0 ? out[0].data.length : 0, block = new Uint8Array(out.length * bytes);
        out.forEach((img, k) => block.set(img.data, k * bytes));
        result.blocks.push({ corruption, severity, data: block });
      } else {
        for (let k = 0; k < out.length; k++) {
          await writeImageFile(out[k], imagePath(source, kept[k], corruption, severity, cfg), cfg.imageFormat);
          result.written++;
        }
      }
    }
  }
  return result;
}

const madeDirs = new Set<string>();

function imagePath(source: ImageSource, i: number, corruption: string, severity: number, cfg: JobConfig): string {
  const dir = join(cfg.out, corruption, String(severity), cfg.classDirs[source.labels[i]]);
  if (!madeDirs.has(dir)) { mkdirSync(dir, { recursive: true }); madeDirs.add(dir); }
  const where = source.where(i);
  const stem = source instanceof ImageFolderSource ? basename(where, extname(where)) : String(i).padStart(Math.max(5, String(source.length - 1).length), "0");
  return join(dir, `${stem}.${cfg.imageFormat === "jpeg" ? "JPEG" : "png"}`);
}

// ImageNet-C stores JPEG quality 85 (PIL save(quality=85, optimize=True)).
async function writeImageFile(img: Image, path: string, format: "jpeg" | "png"): Promise<void> {
  const s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } })
    .toColourspace(img.channels === 1 ? "b-w" : "srgb");
  const bytes = await (format === "jpeg" ? s.jpeg({ quality: 85, chromaSubsampling: "4:2:0" }) : s.png()).toBuffer();
  writeFileSync(path, bytes);
}
