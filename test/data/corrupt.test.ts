// The generator and `bun run corrupt`: layouts, read-back, worker independence, the preview.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { generateCorruptions } from "../../src/data/corrupt.ts";
import { openImageNetCTask, openNpyTask } from "../../src/data/corruption-datasets.ts";
import { corruptImages, makeCorruptionContext } from "../../src/data/corruptions/index.ts";
import { loadFashionMnist } from "../../src/data/fashion-mnist.ts";
import { openImageFolder } from "../../src/data/image-folder.ts";
import { padTo } from "../../src/data/image.ts";
import { tempDir } from "./helpers.ts";

const dir = tempDir("corrupt");
const fm = loadFashionMnist("test");
const corruptions = ["gaussian_noise", "glass_blur", "jpeg_compression"] as const;
const severities = [1, 3, 5];

describe("generator", () => {
  test("npy layout reads back per severity, equals the in-memory corruption, and is the same with 0 or 2 workers", async () => {
    const outs = [join(dir, "w0"), join(dir, "w2")];
    for (const [k, workers] of [0, 2].entries())
      await generateCorruptions({ source: fm, out: outs[k], corruptions: [...corruptions], severities, limit: 30, geometry: { pad: 32 }, workers, chunkSize: 8, seed: 4 });
    for (const c of corruptions) expect(readFileSync(join(outs[0], `${c}.npy`)).equals(readFileSync(join(outs[1], `${c}.npy`)))).toBe(true);
    const meta = JSON.parse(readFileSync(join(outs[0], "meta.json"), "utf8"));
    expect(meta.severities).toEqual(severities);
    expect(meta.table).toBe("cifar");
    const ctx = await makeCorruptionContext({ family: "cifar", seed: 4 });
    const clean = Array.from({ length: 30 }, (_, i) => padTo(fm.image(i), 32, 32));
    for (const c of corruptions) for (const s of severities) {
      const task = openNpyTask(outs[0], c, s);
      expect([task.length, task.height, task.width, task.channels]).toEqual([30, 32, 32, 1]);
      expect(Array.from(task.labels)).toEqual(Array.from(fm.labels.subarray(0, 30)));
      const expected = await corruptImages(clean, clean.map((_, i) => i), c, s, 4, ctx);
      for (const i of [0, 17, 29]) expect(Buffer.from(task.image(i).data).equals(Buffer.from(expected[i].data))).toBe(true);
    }
  });

  test("ImageNet-C style folders (PNG: lossless read-back; class folders sort in label order)", async () => {
    const out = join(dir, "folders");
    await generateCorruptions({ source: fm, out, format: "folder", imageFormat: "png", corruptions: ["fog"], severities: [2], limit: 12, geometry: { pad: 32 }, workers: 0 });
    const task = await openImageNetCTask(out, "fog", 2);
    expect(task.length).toBe(12);
    expect(task.classNames).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"].filter((c) => fm.labels.subarray(0, 12).includes(Number(c))));
    const ctx = await makeCorruptionContext({ family: "cifar", seed: 0 });
    const i = task.files.findIndex((f) => f.endsWith("00003.png"));
    const [expected] = await corruptImages([padTo(fm.image(3), 32, 32)], [3], "fog", 2, 0, ctx);
    expect(task.classNames[task.labels[i]]).toBe(String(fm.labels[3]));
    expect(Buffer.from((await task.read(i)).data).equals(Buffer.from(expected.data))).toBe(true);
  });

  test("folder source with a corrupt image: error naming it, or skipped and counted", async () => {
    const src = join(dir, "src");
    mkdirSync(join(src, "a"), { recursive: true });
    for (let i = 0; i < 3; i++)
      await sharp(Buffer.alloc(40 * 40 * 3, 50 * i), { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(src, "a", `img${i}.png`));
    writeFileSync(join(src, "a", "img1.png"), "broken");
    const source = await openImageFolder(src);
    const base = { source, corruptions: ["contrast" as const], severities: [1], workers: 0 };
    await expect(generateCorruptions({ ...base, out: join(dir, "bad") })).rejects.toThrow(`${join(src, "a", "img1.png")}: cannot decode image`);
    const report = await generateCorruptions({ ...base, out: join(dir, "skip"), skipBad: true });
    expect(report.skipped).toEqual([join(src, "a", "img1.png")]);
    expect(report.images).toBe(2);
    expect(openNpyTask(join(dir, "skip"), "contrast", 1).length).toBe(2);
  });
});

describe("bun run corrupt", () => {
  const cli = join(import.meta.dir, "../../src/cli/corrupt.ts");
  const run = (...args: string[]) => Bun.spawnSync(["bun", cli, ...args], { stdout: "pipe", stderr: "pipe" });

  test("writes the files and a contact sheet", async () => {
    const out = join(dir, "cli"), png = join(dir, "sheet.png");
    const r = run("--dataset", "fmnist", "--limit", "12", "--corruptions", "fog,pixelate", "--severities", "2,5", "--out", out, "--preview", png, "--preview-images", "2", "--workers", "0");
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain("12 images x 4 (corruption, severity) tasks [32x32x1, cifar table]");
    expect(existsSync(join(out, "fog.npy")) && existsSync(join(out, "labels.npy"))).toBe(true);
    const meta = await sharp(png).metadata();
    expect(meta.width).toBeGreaterThan(3 * 2 * 96);
    expect(meta.height).toBeGreaterThan(2 * 96);
  });

  test("usage and data errors exit with status 2 and a message", () => {
    const bad = run("--dataset", "fmnist", "--corruptions", "fog,rain", "--out", join(dir, "x"));
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("unknown corruption(s) rain");
    const missing = run("--dataset", `npy:${join(dir, "nope.npy")}`, "--out", join(dir, "y"));
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.toString()).toContain(`${join(dir, "nope.npy")}: cannot open .npy file (ENOENT)`);
    expect(run("--dataset", "fmnist", "--severities", "0,6", "--out", join(dir, "z")).stderr.toString()).toContain("--severities must be a list of 1..5");
  });
});

describe("frost textures", () => {
  test("user frost images: the first five by name, shrunk by 0.2 for the CIFAR table", async () => {
    const frostDir = join(dir, "frost");
    mkdirSync(frostDir);
    for (let k = 1; k <= 6; k++)
      await sharp(Buffer.alloc(150 * 200 * 3, 30 * k), { raw: { width: 200, height: 150, channels: 3 } }).png().toFile(join(frostDir, `frost${k}.png`));
    const ctx = await makeCorruptionContext({ family: "cifar", seed: 0, frostDir });
    expect(ctx.frostImages.length).toBe(5);
    expect([ctx.frostImages[0].height, ctx.frostImages[0].width, ctx.frostImages[0].data[0]]).toEqual([30, 40, 30]);
    expect(ctx.frostImages[4].data[0]).toBe(150);
    const inet = await makeCorruptionContext({ family: "imagenet", seed: 0, frostDir });
    expect([inet.frostImages[0].height, inet.frostImages[0].width]).toEqual([150, 200]);
    mkdirSync(join(dir, "nofrost"));
    await expect(makeCorruptionContext({ family: "cifar", seed: 0, frostDir: join(dir, "nofrost") })).rejects.toThrow("no frost images");
  });

  test("synthesised textures depend on the seed only, and frost is only made when needed", async () => {
    const a = await makeCorruptionContext({ family: "cifar", seed: 1 }), b = await makeCorruptionContext({ family: "cifar", seed: 1 });
    const c = await makeCorruptionContext({ family: "cifar", seed: 2 });
    expect(Buffer.from(a.frostImages[3].data).equals(Buffer.from(b.frostImages[3].data))).toBe(true);
    expect(Buffer.from(a.frostImages[3].data).equals(Buffer.from(c.frostImages[3].data))).toBe(false);
    expect((await makeCorruptionContext({ family: "cifar", seed: 1, corruptions: ["fog"] })).frostImages).toEqual([]);
  });
});
