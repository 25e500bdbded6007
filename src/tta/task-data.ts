// The images of one (corruption, severity) task: Fashion-MNIST-C corrupted on the fly (the same bytes as
// `bun run corrupt` with the same seed), CIFAR-C style .npy, ImageNet-C folders, or any class-per-folder set.
import type { Config, Task } from "../config/index.ts";
import { openNpyTask, openImageNetCTask } from "../data/corruption-datasets.ts";
import { corruptImages, makeCorruptionContext, type CorruptionContext } from "../data/corruptions/index.ts";
import type { CorruptionName } from "../data/corruptions/names.ts";
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { openImageFolder } from "../data/image-folder.ts";
import { loaderOrder } from "../data/loader.ts";
import { ArraySource, type ImageSource } from "../data/source.ts";
import { applyGeometry } from "../data/transforms.ts";

export type TaskData = { source: ImageSource; shuffled: boolean };

let corruptionContext: Promise<CorruptionContext> | null = null;

/** Fashion-MNIST test images zero-padded to 32×32 and corrupted, in the loader's order (shuffle and limit applied). */
async function fashionMnistC(config: Config, task: Task): Promise<TaskData> {
  const base = loadFashionMnist("test");
  const order = loaderOrder(base.length, { shuffle: config.data.shuffle, seed: config.seed, limit: config.data.limit ?? undefined });
  const clean = await Promise.all(Array.from(order, (i) => base.read(i).then((img) => applyGeometry(img, { pad: 32, channels: 1 }))));
  corruptionContext ??= makeCorruptionContext({ family: "cifar", seed: config.data.generate.seed, frostDir: config.data.generate.frost_dir ?? undefined });
  const corrupted = await corruptImages(clean, order, task.corruption as CorruptionName, task.severity, config.data.generate.seed, await corruptionContext);
  const [h, w, c] = [corrupted[0].height, corrupted[0].width, corrupted[0].channels];
  const images = new Uint8Array(new SharedArrayBuffer(order.length * h * w * c));
  corrupted.forEach((img, k) => images.set(img.data, k * h * w * c));
  const labels = Int32Array.from(order, (i) => base.labels[i]);
  const source = new ArraySource({ name: `fashion-mnist-c/${task.name}`, path: `fashion-mnist (generated ${task.name})`, images, count: order.length, height: h, width: w, channels: c, labels, classNames: base.classNames });
  return { source, shuffled: true };
}

export async function openTask(config: Config, task: Task): Promise<TaskData> {
  const { data } = config;
  if (data.dataset === "fmnist-c" && !data.root) return fashionMnistC(config, task);
  if (!data.root) throw new Error(`data.root: the ${data.dataset} dataset needs a folder`);
  if (data.dataset === "fmnist-c" || data.dataset === "cifar-c") return { source: openNpyTask(data.root, task.corruption, task.severity), shuffled: false };
  if (data.dataset === "imagenet-c") return { source: await openImageNetCTask(data.root, task.corruption, task.severity), shuffled: false };
  return { source: await openImageFolder(data.root), shuffled: false };
}
