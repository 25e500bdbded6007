// An indexable, labelled set of images. Sources are also describable as plain data (SourceSpec) so a
// worker can rebuild them; in-memory pixels travel as a SharedArrayBuffer and are not copied.
import { DataError } from "./errors.ts";
import { makeImage, type Image } from "./image.ts";

export interface ImageSource {
  readonly name: string;
  readonly length: number;
  readonly labels: Int32Array; // (N,)
  readonly classNames: string[];
  readonly channels: number; // of the decoded images
  where(i: number): string; // file (and index) of image i, for messages
  read(i: number): Promise<Image>;
  spec(): SourceSpec;
}

export interface ArraySpec {
  kind: "array";
  name: string;
  path: string;
  images: Uint8Array; // (N, H, W, C), backed by a SharedArrayBuffer
  count: number;
  height: number;
  width: number;
  channels: number;
  labels: Int32Array;
  classNames: string[];
}

export interface FilesSpec {
  kind: "files";
  name: string;
  files: string[];
  labels: Int32Array;
  classNames: string[];
  channels: 1 | 3;
}

export type SourceSpec = ArraySpec | FilesSpec;

export const toShared = (data: Uint8Array): Uint8Array => {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const shared = new Uint8Array(new SharedArrayBuffer(data.length));
  shared.set(data);
  return shared;
};

// Images held in memory (idx, .npy).
export class ArraySource implements ImageSource {
  readonly name: string;
  readonly length: number;
  readonly labels: Int32Array;
  readonly classNames: string[];
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  private readonly images: Uint8Array;
  private readonly path: string;

  constructor(opts: Omit<ArraySpec, "kind" | "classNames"> & { classNames?: string[] }) {
    const { name, path, images, count, height, width, channels, labels } = opts;
    if (images.length !== count * height * width * channels) throw new DataError(path, `image buffer has ${images.length} bytes, expected ${count}x${height}x${width}x${channels}`);
    if (labels.length !== count) throw new DataError(path, `${count} images but ${labels.length} labels`);
    this.name = name; this.path = path; this.length = count; this.labels = labels;
    this.height = height; this.width = width; this.channels = channels;
    this.images = toShared(images);
    const numClasses = labels.reduce((m, v) => Math.max(m, v + 1), 0);
    this.classNames = opts.classNames ?? Array.from({ length: numClasses }, (_, k) => String(k));
  }

  where(i: number): string { return `${this.path}[${i}]`; }

  image(i: number): Image {
    const size = this.height * this.width * this.channels;
    return makeImage(this.height, this.width, this.channels, this.images.subarray(i * size, (i + 1) * size));
  }

  async read(i: number): Promise<Image> { return this.image(i); }

  spec(): ArraySpec {
    return { kind: "array", name: this.name, path: this.path, images: this.images, count: this.length, height: this.height, width: this.width, channels: this.channels, labels: this.labels, classNames: this.classNames };
  }
}
