// Severity monotonicity, determinism and the size-family tables.
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { ALL_CORRUPTIONS, CORRUPTIONS, corruptImages, makeCorruptionContext, sizeFamilyFor, type CorruptionContext, type CorruptionName } from "../../src/data/corruptions/index.ts";
import { colourImage, fmnistImages, rmse } from "./helpers.ts";

let ctx: CorruptionContext;
beforeAll(async () => { ctx = await makeCorruptionContext({ family: "cifar", seed: 0 }); });

const images = fmnistImages(48, 100);
const indices = images.map((_, k) => 100 + k);

async function distances(name: CorruptionName): Promise<number[]> {
  const d: number[] = [];
  for (let s = 1; s <= 5; s++) {
    const out = await corruptImages(images, indices, name, s, 0, ctx);
    d.push(out.reduce((acc, img, k) => acc + rmse(img, images[k]), 0) / images.length);
  }
  return d;
}

// Distance from the clean image grows with severity for every corruption whose reference parameters grow
// together. The exceptions follow from the reference's CIFAR table itself:
//  - motion_blur 3 → 4: (6, 2) → (8, 2); the extra taps have weight exp(-49/8) ≈ 0.002, so the two differ only by
//    their random angles;
//  - glass_blur: sigma goes 0.05, 0.25, 0.4, 0.25, 0.4 — more blur smooths the jitter back towards the image;
//  - frost 3 → 4: w_img drops 0.9 → 0.85 at the same w_frost, which on dark images moves pixels back;
//  - spatter 3 → 4 switches from water to mud;
//  - elastic_transform: the affine jitter shrinks 2.56 → 0.96 px while the elastic part grows;
//  - saturate on grayscale: S = 0, so severities 1-3 (add = 0) leave the image unchanged.
const STRICT: CorruptionName[] = ["gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "zoom_blur", "snow", "fog",
  "brightness", "contrast", "pixelate", "jpeg_compression", "speckle_noise", "gaussian_blur"];

describe("severity", () => {
  for (const name of STRICT) {
    test(`${name}: distance from clean grows with severity`, async () => {
      const d = await distances(name);
      for (let s = 1; s < 5; s++) expect(d[s]).toBeGreaterThan(d[s - 1]);
    });
  }

  test("the exceptions behave as their parameters say", async () => {
    const motion = await distances("motion_blur");
    for (let s = 1; s < 5; s++) expect(motion[s]).toBeGreaterThan(motion[s - 1] * 0.95); // random angles: equal within noise
    expect(motion[4]).toBeGreaterThan(motion[0] * 1.5);
    for (const name of ["glass_blur", "frost", "spatter"] as const) {
      const d = await distances(name);
      expect(d[4]).toBeGreaterThan(d[0]);
    }
    const sat = await distances("saturate");
    expect(sat.slice(0, 3)).toEqual([0, 0, 0]);
    expect(sat[4]).toBeGreaterThan(sat[3]);
    const elastic = await distances("elastic_transform");
    expect(elastic[0]).toBeGreaterThan(elastic[4]);
  });
});

describe("determinism", () => {
  const few = fmnistImages(3, 7), fewIdx = [7, 8, 9];
  const colour = [colourImage(32, 32, 2)];

  test("same seed → identical bytes; another seed changes exactly the random corruptions", async () => {
    for (const name of ALL_CORRUPTIONS) {
      for (const imgs of [few, colour]) {
        const idx = imgs === few ? fewIdx : [0];
        const a = await corruptImages(imgs, idx, name, 3, 11, ctx), b = await corruptImages(imgs, idx, name, 3, 11, ctx);
        const c = await corruptImages(imgs, idx, name, 3, 12, ctx);
        a.forEach((img, k) => expect(Buffer.from(img.data).equals(Buffer.from(b[k].data))).toBe(true));
        const same = a.every((img, k) => Buffer.from(img.data).equals(Buffer.from(c[k].data)));
        expect(same).toBe(!CORRUPTIONS[name].random);
      }
    }
  });

  test("an image's result does not depend on the other images in the call", async () => {
    for (const name of ["gaussian_noise", "snow", "jpeg_compression", "glass_blur"] as const) {
      const all = await corruptImages(few, fewIdx, name, 4, 5, ctx);
      const one = await corruptImages([few[1]], [fewIdx[1]], name, 4, 5, ctx);
      expect(Buffer.from(all[1].data).equals(Buffer.from(one[0].data))).toBe(true);
    }
  });

  test("golden bytes: every corruption and severity on 4 images hashes to the recorded value", async () => {
    const hash = createHash("sha256");
    const imgs = fmnistImages(4), idx = [0, 1, 2, 3];
    for (const name of ALL_CORRUPTIONS) for (let s = 1; s <= 5; s++) for (const img of await corruptImages(imgs, idx, name, s, 0, ctx)) hash.update(img.data);
    for (const name of ALL_CORRUPTIONS) for (const img of await corruptImages(colour, [0], name, 5, 0, ctx)) hash.update(img.data);
    expect(hash.digest("hex")).toBe(GOLDEN);
  });
});

describe("size families", () => {
  test("the CIFAR table up to 64 px, the ImageNet table above", () => {
    expect([sizeFamilyFor(28, 28), sizeFamilyFor(32, 32), sizeFamilyFor(64, 64), sizeFamilyFor(65, 40), sizeFamilyFor(224, 224)]).toEqual(["cifar", "cifar", "cifar", "imagenet", "imagenet"]);
  });

  test("ImageNet table on a 224x224 colour image: all 19 keep shape, severity 5 moves further than 1", async () => {
    const inet = await makeCorruptionContext({ family: "imagenet", seed: 0 });
    expect(inet.frostImages[0].height).toBeGreaterThan(224);
    const img = colourImage(224, 224, 4);
    for (const name of ALL_CORRUPTIONS) {
      const [s1] = await corruptImages([img], [0], name, 1, 0, inet), [s5] = await corruptImages([img], [0], name, 5, 0, inet);
      expect([s5.height, s5.width, s5.channels]).toEqual([224, 224, 3]);
      if (name !== "elastic_transform") expect(rmse(s5, img)).toBeGreaterThan(rmse(s1, img));
    }
  });
});

const GOLDEN = "e14542e56edc9f1c3428cf81ea39f1440172a9edaca835b212355c02783985c1";
