import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { openImageNetCTask } from "../../src/data/corruption-datasets.ts";
import { DataError } from "../../src/data/errors.ts";
import { listImageFolder, openImageFolder } from "../../src/data/image-folder.ts";
import { createLoader } from "../../src/data/loader.ts";
import { IMAGENET_TASK } from "../../src/data/transforms.ts";
import { tempDir } from "./helpers.ts";

const root = tempDir("folder");
const inet = join(root, "ImageNet-C");
const sev = join(inet, "fog", "3");
const wnids = ["n01440764", "n01443537", "n01484850"];

async function writeJpeg(path: string, value: number, size = 24): Promise<Buffer> {
  const bytes = await sharp(Buffer.alloc(size * size * 3, value), { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  writeFileSync(path, bytes);
  return bytes;
}

beforeAll(async () => {
  for (const [k, w] of wnids.entries()) {
    mkdirSync(join(sev, w), { recursive: true });
    for (let i = 0; i < 2; i++) await writeJpeg(join(sev, w, `ILSVRC2012_val_0000000${k}${i}.JPEG`), 40 * k + i);
  }
  writeFileSync(join(sev, wnids[1], "notes.txt"), "not an image");
  const good = await writeJpeg(join(root, "tmp.jpg"), 7);
  const bad = join(root, "bad", "cls");
  mkdirSync(bad, { recursive: true });
  await writeJpeg(join(bad, "a.jpg"), 10);
  writeFileSync(join(bad, "b.jpg"), good.subarray(0, good.length >> 1)); // truncated JPEG
  writeFileSync(join(bad, "c.jpg"), Buffer.from("this is not a jpeg at all"));
  await writeJpeg(join(bad, "d.jpg"), 20);
  mkdirSync(join(root, "empty", "a"), { recursive: true });
  mkdirSync(join(root, "empty", "b"), { recursive: true });
  await writeJpeg(join(root, "empty", "a", "x.png"), 1);
});

describe("image folders", () => {
  test("ImageNet-C task: sorted wnids are the class index, files sorted, non-images ignored", async () => {
    const task = await openImageNetCTask(inet, "fog", 3);
    expect(task.classNames).toEqual(wnids);
    expect(task.length).toBe(6);
    expect(Array.from(task.labels)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(task.files[2].endsWith(join(wnids[1], "ILSVRC2012_val_000000010.JPEG"))).toBe(true);
    const img = await task.read(4);
    expect([img.height, img.width, img.channels]).toEqual([24, 24, 3]);
    expect(Math.abs(img.data[0] - 80)).toBeLessThanOrEqual(1);
    expect(task.channels).toBe(3);
  });

  test("a class list fixes indices when folders are missing", async () => {
    const task = await openImageNetCTask(inet, "fog", 3, { classes: ["n00000000", ...wnids] });
    expect(Array.from(task.labels)).toEqual([1, 1, 2, 2, 3, 3]);
    await expect(openImageNetCTask(inet, "fog", 3, { classes: wnids.slice(1) })).rejects.toThrow("class folder is not in the class list");
  });

  test("missing severity or corruption folder names the path", async () => {
    await expect(openImageNetCTask(inet, "fog", 5)).rejects.toThrow(`${join(inet, "fog", "5")}: missing severity folder 5`);
    await expect(openImageNetCTask(inet, "snow", 1)).rejects.toThrow(`${join(inet, "snow")}: missing corruption folder 'snow'`);
    await expect(openImageNetCTask(join(root, "nope"), "fog", 1)).rejects.toThrow("benchmark folder not found");
  });

  test("empty class folder is an error naming the folder", () => {
    expect(() => listImageFolder(join(root, "empty"))).toThrow(`${join(root, "empty", "b")}: empty class folder`);
    expect(() => listImageFolder(join(root, "missing"))).toThrow(`${join(root, "missing")}: image folder not found`);
  });

  test("corrupt and truncated JPEGs: a DataError naming the file", async () => {
    const ds = await openImageFolder(join(root, "bad"));
    expect(ds.length).toBe(4);
    await expect(ds.read(1)).rejects.toThrow(`${join(root, "bad", "cls", "b.jpg")}: cannot decode image`);
    await expect(ds.read(2)).rejects.toThrow(`${join(root, "bad", "cls", "c.jpg")}: cannot decode image`);
    const err = await ds.read(2).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((await ds.read(3)).data[0]).toBeGreaterThan(15);
  });

  for (const workers of [0, 1]) {
    test(`loader (workers=${workers}): skipBad skips unreadable images and counts them; otherwise it throws`, async () => {
      const ds = await openImageFolder(join(root, "bad"));
      const task = { ...IMAGENET_TASK, centerCrop: 24 };
      const loader = createLoader(ds, { batchSize: 3, task, skipBad: true, workers });
      const seen: number[] = [];
      for await (const b of loader) seen.push(...b.indices);
      loader.close();
      expect(seen).toEqual([0, 3]);
      expect(loader.skipped.map((f) => f.split("/").pop())).toEqual(["b.jpg", "c.jpg"]);

      const strict = createLoader(ds, { batchSize: 3, task, workers });
      const run = async () => { for await (const _ of strict) { /* read all */ } };
      await expect(run()).rejects.toThrow(`${join(root, "bad", "cls", "b.jpg")}: cannot decode image`);
      strict.close();
    });
  }
});
