// Class-per-folder image sets, <root>/<class>/**/<image>, decoded with sharp. Class index = position of the
// class folder in sorted order (ImageNet: sorted wnids), unless a class list is given.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { DataError } from "./errors.ts";
import { makeImage, type Image } from "./image.ts";
import type { FilesSpec, ImageSource } from "./source.ts";

export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".webp", ".tif", ".tiff"];

export interface ImageFolderOptions {
  classes?: string[]; // the full class list (index = position); default: the sorted subfolders of root
  channels?: 1 | 3; // default: from the first image (grayscale → 1, else 3)
  name?: string;
}

export interface ImageFolderListing { files: string[]; labels: Int32Array; classes: string[] }

const isImageFile = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

function readDir(path: string, what: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(path, code === "ENOENT" ? `${what} not found` : code === "ENOTDIR" ? `${what} is not a folder` : `cannot read ${what} (${code ?? e})`, { cause: e });
  }
}

const isDir = (path: string) => { try { return statSync(path).isDirectory(); } catch { return false; } };

function walkImages(dir: string, out: string[]): void {
  for (const name of readDir(dir, "folder")) {
    const path = join(dir, name);
    if (isDir(path)) walkImages(path, out);
    else if (isImageFile(name)) out.push(path);
  }
}

export function listImageFolder(root: string, opts: Pick<ImageFolderOptions, "classes"> = {}): ImageFolderListing {
  const folders = readDir(root, "image folder").filter((d) => isDir(join(root, d)));
  if (folders.length === 0) throw new DataError(root, "no class folders in image folder");
  const classes = opts.classes ?? folders;
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const files: string[] = [], labels: number[] = [];
  for (const folder of folders) {
    const label = classIndex.get(folder);
    if (label === undefined) throw new DataError(join(root, folder), `class folder is not in the class list (${classes.length} classes)`);
    const images: string[] = [];
    walkImages(join(root, folder), images);
    if (images.length === 0) throw new DataError(join(root, folder), `empty class folder: no images (${IMAGE_EXTENSIONS.join(" ")})`);
    for (const f of images) { files.push(f); labels.push(label); }
  }
  return { files, labels: Int32Array.from(labels), classes };
}

// Decode one file to uint8 (H, W, channels); alpha is dropped.
export async function decodeImageFile(path: string, channels: 1 | 3): Promise<Image> {
  try {
    const { data, info } = await sharp(path, { failOn: "warning" })
      .removeAlpha()
      .toColourspace(channels === 1 ? "b-w" : "srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return makeImage(info.height, info.width, info.channels, new Uint8Array(data.buffer, data.byteOffset, data.length));
  } catch (e) {
    throw new DataError(path, `cannot decode image (${(e as Error).message.split("\n")[0]})`, { cause: e });
  }
}

export async function detectChannels(path: string): Promise<1 | 3> {
  try {
    const m = await sharp(path).metadata();
    return m.channels !== undefined && m.channels <= 2 ? 1 : 3;
  } catch (e) {
    throw new DataError(path, `cannot read image header (${(e as Error).message.split("\n")[0]})`, { cause: e });
  }
}

export class ImageFolderSource implements ImageSource {
  readonly name: string;
  readonly length: number;
  readonly labels: Int32Array;
  readonly classNames: string[];
  readonly files: string[];
  readonly channels: 1 | 3;

  constructor(listing: ImageFolderListing, channels: 1 | 3, name: string) {
    this.files = listing.files; this.labels = listing.labels; this.classNames = listing.classes;
    this.length = listing.files.length; this.channels = channels; this.name = name;
  }

  static fromSpec(spec: FilesSpec): ImageFolderSource {
    return new ImageFolderSource({ files: spec.files, labels: spec.labels, classes: spec.classNames }, spec.channels, spec.name);
  }

  where(i: number): string { return this.files[i]; }
  read(i: number): Promise<Image> { return decodeImageFile(this.files[i], this.channels); }
  spec(): FilesSpec {
    return { kind: "files", name: this.name, files: this.files, labels: this.labels, classNames: this.classNames, channels: this.channels };
  }
}

export async function openImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<ImageFolderSource> {
  const listing = listImageFolder(root, opts);
  let channels = opts.channels;
  if (channels === undefined) {
    for (const f of listing.files) { try { channels = await detectChannels(f); break; } catch { /* unreadable: try the next */ } }
    channels ??= 3;
  }
  return new ImageFolderSource(listing, channels, opts.name ?? root);
}
