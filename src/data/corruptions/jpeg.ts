// jpeg_compression: encode at the severity's quality and decode, through sharp (libjpeg API; standard
// Annex K tables scaled by quality, 4:2:0 chroma for colour, like PIL's defaults). Grayscale images are
// 1-component JPEGs.
import sharp from "sharp";
import { makeImage, type Image } from "../image.ts";
import type { Corruption } from "./context.ts";

sharp.cache(false);

export async function encodeJpeg(img: Image, quality: number): Promise<Uint8Array> {
  const { width, height, channels } = img;
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return sharp(raw, { raw: { width, height, channels: channels as 1 | 3 | 4 } })
    .toColourspace(channels === 1 ? "b-w" : "srgb") // else sharp writes gray as 3-component YCbCr
    .jpeg({ quality, chromaSubsampling: "4:2:0", mozjpeg: false })
    .toBuffer();
}

export async function decodeJpeg(bytes: Uint8Array, channels: number): Promise<Image> {
  const { data, info } = await sharp(bytes).toColourspace(channels === 1 ? "b-w" : "srgb").raw().toBuffer({ resolveWithObject: true });
  return makeImage(info.height, info.width, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length));
}

export async function jpegRoundTrip(img: Image, quality: number): Promise<Image> {
  return decodeJpeg(await encodeJpeg(img, quality), img.channels);
}

// Grayscale images whose sides are multiples of 8 are coded block by block with no cross-block step, so a
// mosaic of them encodes and decodes to exactly the per-image results in one library call (tested).
const MOSAIC_TILES = 32;

async function jpegMosaic(imgs: Image[], quality: number): Promise<Image[]> {
  const { height: H, width: W } = imgs[0];
  const cols = Math.min(MOSAIC_TILES, imgs.length), rows = Math.ceil(imgs.length / cols);
  const mosaic = makeImage(rows * H, cols * W, 1);
  imgs.forEach((img, k) => {
    const r = Math.floor(k / cols), c = k % cols;
    for (let y = 0; y < H; y++) mosaic.data.set(img.data.subarray(y * W, (y + 1) * W), (r * H + y) * cols * W + c * W);
  });
  const decoded = await jpegRoundTrip(mosaic, quality);
  return imgs.map((_, k) => {
    const r = Math.floor(k / cols), c = k % cols, out = makeImage(H, W, 1);
    for (let y = 0; y < H; y++) out.data.set(decoded.data.subarray((r * H + y) * cols * W + c * W, (r * H + y) * cols * W + c * W + W), y * W);
    return out;
  });
}

export const canMosaic = (imgs: Image[]): boolean =>
  imgs.length > 1 && imgs.every((im) => im.channels === 1 && im.height === imgs[0].height && im.width === imgs[0].width && im.height % 8 === 0 && im.width % 8 === 0);

export async function jpegBatch(imgs: Image[], quality: number): Promise<Image[]> {
  const out: Image[] = [];
  const chunk = MOSAIC_TILES * MOSAIC_TILES;
  for (let i = 0; i < imgs.length; i += chunk) {
    const part = imgs.slice(i, i + chunk);
    out.push(...(canMosaic(part) ? await jpegMosaic(part, quality) : await Promise.all(part.map((im) => jpegRoundTrip(im, quality)))));
  }
  return out;
}

export const jpegCompression: Corruption = {
  name: "jpeg_compression",
  random: false,
  apply: () => { throw new Error("jpeg_compression is asynchronous: use applyBatch (or corruptImage)"); },
  applyBatch: (imgs, severity, ctx) => jpegBatch(imgs, ctx.params.jpeg_compression[severity - 1]),
};
