// A contact sheet: one row per corruption, a column of clean images then one column per severity, each cell
// showing the same few images, so a person can check every corruption at a glance.
import sharp from "sharp";
import { makeImage, toChannels, type Image } from "./image.ts";
import { resample } from "./resample.ts";
import { readPrepared, type Geometry } from "./corrupt-job.ts";
import type { ImageSource } from "./source.ts";
import { corruptImages, makeCorruptionContext, sizeFamilyFor, type CorruptionName, type SizeFamily } from "./corruptions/index.ts";

export interface SheetRow { label: string; cells: Image[][] } // cells[column][image]

const LABEL_WIDTH = 150, HEADER = 28, GAP = 2, CELL_GAP = 10, TILE = 96;

function tile(img: Image): Image {
  const rgb = toChannels(img, 3);
  if (rgb.height >= TILE) return resample(rgb, Math.round((rgb.width * TILE) / rgb.height), TILE, "bilinear");
  const k = Math.max(1, Math.floor(TILE / rgb.height)), out = makeImage(rgb.height * k, rgb.width * k, 3);
  for (let y = 0; y < out.height; y++) for (let x = 0; x < out.width; x++) {
    const s = (Math.floor(y / k) * rgb.width + Math.floor(x / k)) * 3, d = (y * out.width + x) * 3;
    out.data[d] = rgb.data[s]; out.data[d + 1] = rgb.data[s + 1]; out.data[d + 2] = rgb.data[s + 2];
  }
  return out;
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

export async function writeContactSheet(path: string, rows: SheetRow[], columnTitles: string[]): Promise<void> {
  const tiles = rows.map((r) => r.cells.map((cell) => cell.map(tile)));
  const th = tiles[0][0][0].height, tw = tiles[0][0][0].width, perCell = tiles[0][0].length;
  const cellW = perCell * tw + (perCell - 1) * GAP, cellH = th;
  const cols = columnTitles.length;
  const W = LABEL_WIDTH + cols * (cellW + CELL_GAP), H = HEADER + rows.length * (cellH + CELL_GAP);
  const canvas = new Uint8Array(W * H * 3).fill(255);
  tiles.forEach((row, r) => row.forEach((cell, c) => cell.forEach((t, k) => {
    const x0 = LABEL_WIDTH + c * (cellW + CELL_GAP) + k * (tw + GAP), y0 = HEADER + r * (cellH + CELL_GAP);
    for (let y = 0; y < t.height; y++) canvas.set(t.data.subarray(y * t.width * 3, (y + 1) * t.width * 3), ((y0 + y) * W + x0) * 3);
  })));
  const text: string[] = [];
  columnTitles.forEach((title, c) => text.push(`<text x="${LABEL_WIDTH + c * (cellW + CELL_GAP) + cellW / 2}" y="19" text-anchor="middle">${escapeXml(title)}</text>`));
  rows.forEach((row, r) => text.push(`<text x="6" y="${HEADER + r * (cellH + CELL_GAP) + cellH / 2 + 5}">${escapeXml(row.label)}</text>`));
  const svg = `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><g font-family="sans-serif" font-size="14" fill="black">${text.join("")}</g></svg>`;
  await sharp(Buffer.from(canvas.buffer, canvas.byteOffset, canvas.length), { raw: { width: W, height: H, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toFile(path);
}

// The contact sheet of a corruption set: rows = corruptions, columns = clean + the severities, `count` images
// spread over the dataset, corrupted with the same per-image random streams as the generated files.
export async function writeCorruptionPreview(path: string, opts: {
  source: ImageSource; corruptions: CorruptionName[]; severities: number[]; seed: number; geometry: Geometry;
  family: SizeFamily | "auto"; frostDir?: string; count?: number; limit?: number;
}): Promise<void> {
  const n = Math.min(opts.limit ?? opts.source.length, opts.source.length), count = Math.min(opts.count ?? 3, n);
  const indices = Array.from({ length: count }, (_, k) => Math.floor((k * n) / count));
  const clean = await Promise.all(indices.map((i) => readPrepared(opts.source, i, opts.geometry)));
  const family = opts.family === "auto" ? sizeFamilyFor(clean[0].height, clean[0].width) : opts.family;
  const ctx = await makeCorruptionContext({ family, seed: opts.seed, frostDir: opts.frostDir, corruptions: opts.corruptions });
  const rows: SheetRow[] = [];
  for (const name of opts.corruptions) {
    const cells = [clean];
    for (const s of opts.severities) cells.push(await corruptImages(clean, indices, name, s, opts.seed, ctx));
    rows.push({ label: name, cells });
  }
  await writeContactSheet(path, rows, ["clean", ...opts.severities.map((s) => `severity ${s}`)]);
}
