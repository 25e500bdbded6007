// explain/<task>.png: per image, the corrupted input and, before and after the task's adaptation, each hypothesis
// of the classifier with its DUSA weight and the VAE-decoded one-step estimate x̂0 the generative model makes
// under it. SVG for the text and bars, sharp to rasterise and to place the image tiles.
import sharp from "sharp";
import type { Hypotheses } from "../tta/explain.ts";
import { writeFileAtomic } from "./atomic-write.ts";

const TILE = 96, GAP = 14, LEFT = TILE + 40, CAPTION = 40, HEADER = 26, TITLE = 58;
const COLORS = { text: "#1a202c", muted: "#4a5568", bar: "#2b6cb0", barBack: "#e2e8f0", right: "#2f855a", wrong: "#c53030" };
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

export type ExplainImage = { input: Float32Array; inputShape: number[]; label: number };
export type ExplainFigure = { title: string; classNames: string[]; images: ExplainImage[]; before: Hypotheses; after: Hypotheses };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const text = (x: number, y: number, body: string, attrs: string) => `<text x="${x}" y="${y}" ${attrs}>${esc(body)}</text>`;

/** A (C, H, W) image in [-1, 1] as a PNG tile of TILE × TILE pixels (nearest-neighbour when enlarging). */
async function tile(data: Float32Array, offset: number, [C, H, W]: number[]): Promise<Buffer> {
  const pixels = Buffer.alloc(H * W * C);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let c = 0; c < C; c++) {
        const v = (data[offset + (c * H + y) * W + x] + 1) * 127.5;
        pixels[(y * W + x) * C + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return sharp(pixels, { raw: { width: W, height: H, channels: C as 1 | 3 } })
    .resize(TILE, TILE, { kernel: W < TILE ? "nearest" : "lanczos3" })
    .png()
    .toBuffer();
}

export async function renderExplainFigure(path: string, fig: ExplainFigure): Promise<void> {
  const n = fig.images.length, K = fig.before.classes.length / Math.max(n, 1);
  const rowHeight = TILE + CAPTION, blockHeight = HEADER + 2 * rowHeight + GAP;
  const width = LEFT + 116 + K * (TILE + GAP) + GAP, height = TITLE + n * blockHeight + GAP;
  const svg: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`];
  const tiles: sharp.OverlayOptions[] = [];
  svg.push(text(GAP, 26, fig.title, `font-size="18" font-weight="bold" fill="${COLORS.text}"`));
  svg.push(text(GAP, 46, `hypotheses with their DUSA weights; under each, the decoded estimate x̂0 of the generative model given that class`, `font-size="12" fill="${COLORS.muted}"`));
  const name = (c: number) => fig.classNames[c] ?? String(c);
  const x0Size = fig.before.x0Shape.reduce((a, b) => a * b, 1);

  for (let i = 0; i < n; i++) {
    const top = TITLE + i * blockHeight, img = fig.images[i];
    svg.push(text(GAP, top + 16, `image ${i + 1}: true class ${name(img.label)}`, `font-size="13" font-weight="bold" fill="${COLORS.text}"`));
    tiles.push({ input: await tile(img.input, 0, img.inputShape), top: top + HEADER, left: GAP });
    svg.push(text(GAP, top + HEADER + TILE + 16, "input", `font-size="12" fill="${COLORS.muted}"`));
    for (const [row, h] of [[0, fig.before], [1, fig.after]] as [number, Hypotheses][]) {
      const y = top + HEADER + row * rowHeight, pred = h.predicted[i];
      svg.push(text(LEFT, y + 40, row === 0 ? "before" : "after", `font-size="13" font-weight="bold" fill="${COLORS.text}"`));
      svg.push(text(LEFT, y + 58, `pred ${name(pred)}`, `font-size="11" fill="${pred === img.label ? COLORS.right : COLORS.wrong}"`));
      for (let k = 0; k < K; k++) {
        const x = LEFT + 116 + k * (TILE + GAP), c = h.classes[i * K + k], w = h.weights[i * K + k];
        tiles.push({ input: await tile(h.x0, (i * K + k) * x0Size, h.x0Shape), top: y, left: x });
        if (c === img.label) svg.push(`<rect x="${x - 2}" y="${y - 2}" width="${TILE + 4}" height="${TILE + 4}" fill="none" stroke="${COLORS.right}" stroke-width="3"/>`);
        svg.push(text(x, y + TILE + 14, name(c), `font-size="11" fill="${COLORS.text}"`));
        svg.push(`<rect x="${x}" y="${y + TILE + 20}" width="${TILE - 34}" height="7" fill="${COLORS.barBack}"/>`);
        svg.push(`<rect x="${x}" y="${y + TILE + 20}" width="${((TILE - 34) * w).toFixed(1)}" height="7" fill="${COLORS.bar}"/>`);
        svg.push(text(x + TILE - 30, y + TILE + 27, w.toFixed(2), `font-size="10" fill="${COLORS.muted}"`));
      }
    }
  }
  const background = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">${svg.join("")}</svg>`);
  const png = await sharp(background).composite(tiles).png().toBuffer();
  writeFileAtomic(path, png);
}
