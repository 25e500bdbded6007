import type { Image } from "../image.ts";
import type { Rng } from "../rng.ts";
import type { CorruptionName, SizeFamily } from "./names.ts";
import type { CorruptionParams } from "./params.ts";

export interface CorruptionContext {
  family: SizeFamily;
  params: CorruptionParams;
  frostImages: Image[]; // RGB uint8 frost textures, already resized for the family; chosen with randint(len)
}

// One corruption at one severity (1..5) on one uint8 image. The output has the input's size and channel
// count; grayscale images stay grayscale.
export type CorruptFn = (img: Image, severity: number, rng: Rng, ctx: CorruptionContext) => Image;

export interface Corruption {
  name: CorruptionName;
  random: boolean; // false: output depends on the image and severity only
  apply: CorruptFn;
  // Corruptions done by a library call (JPEG) work on many images per call.
  applyBatch?: (imgs: Image[], severity: number, ctx: CorruptionContext) => Promise<Image[]>;
}
