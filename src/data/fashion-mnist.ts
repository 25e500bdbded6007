// Fashion-MNIST: 28x28 grayscale, 10 classes. The 10,000-image test set ships in data/fashion-mnist; the
// training set comes from the Debian package dataset-fashion-mnist or a given folder.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError, formatShape } from "./errors.ts";
import { readIdx } from "./idx.ts";
import { ArraySource } from "./source.ts";

export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
export const SHIPPED_FASHION_MNIST_DIR = fileURLToPath(new URL("../../data/fashion-mnist", import.meta.url));
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export type FashionMnistSplit = "train" | "test";

const prefix = (split: FashionMnistSplit) => (split === "train" ? "train" : "t10k");

// <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
function findFile(dir: string, stem: string): string | undefined {
  for (const name of [`${stem}.gz`, stem]) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export function fashionMnistDirs(split: FashionMnistSplit): string[] {
  return split === "test" ? [SHIPPED_FASHION_MNIST_DIR, DEBIAN_FASHION_MNIST_DIR] : [DEBIAN_FASHION_MNIST_DIR];
}

export function loadFashionMnist(split: FashionMnistSplit = "test", dir?: string): ArraySource {
  const dirs = dir ? [dir] : fashionMnistDirs(split);
  const stemImages = `${prefix(split)}-images-idx3-ubyte`, stemLabels = `${prefix(split)}-labels-idx1-ubyte`;
  for (const d of dirs) {
    const imagesPath = findFile(d, stemImages), labelsPath = findFile(d, stemLabels);
    if (imagesPath && labelsPath) return readIdxDataset(imagesPath, labelsPath, `fashion-mnist-${split}`, FASHION_MNIST_CLASSES);
  }
  const hint = split === "train" && !dir ? " (install it with: apt-get install dataset-fashion-mnist, or pass a folder)" : "";
  throw new DataError(dirs.join(", "), `Fashion-MNIST ${split} set not found: expected ${stemImages}[.gz] and ${stemLabels}[.gz]${hint}`);
}

// An idx image file (N, H, W) or (N, H, W, C) with its idx label file (N,).
export function readIdxDataset(imagesPath: string, labelsPath: string, name: string, classNames?: string[]): ArraySource {
  const images = readIdx(imagesPath), labels = readIdx(labelsPath);
  if (images.shape.length !== 3 && images.shape.length !== 4) throw new DataError(imagesPath, `expected images of shape (N,H,W[,C]), got ${formatShape(images.shape)}`);
  if (labels.shape.length !== 1) throw new DataError(labelsPath, `expected labels of shape (N,), got ${formatShape(labels.shape)}`);
  const [n, h, w] = images.shape, c = images.shape[3] ?? 1;
  if (labels.shape[0] !== n) throw new DataError(labelsPath, `${labels.shape[0]} labels for ${n} images in ${imagesPath}`);
  return new ArraySource({ name, path: imagesPath, images: images.data, count: n, height: h, width: w, channels: c, labels: Int32Array.from(labels.data), classNames });
}
