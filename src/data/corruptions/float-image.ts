// The reference corrupts float images (x / 255), clips to [0, 1], multiplies by 255 and stores with
// np.uint8(...), which truncates. These helpers do exactly those two conversions.
import { makeImage, type Image } from "../image.ts";

export const toUnitFloat = (img: Image): Float64Array => {
  const out = new Float64Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i] / 255;
  return out;
};

// np.uint8(np.clip(x, 0, 1) * 255)
export const fromUnitFloat = (x: ArrayLike<number>, like: Pick<Image, "height" | "width" | "channels">): Image => {
  const out = makeImage(like.height, like.width, like.channels);
  const d = out.data;
  for (let i = 0; i < d.length; i++) {
    const v = x[i];
    d[i] = v > 1 ? 255 : v > 0 ? Math.trunc(v * 255) : 0; // NaN → 0
  }
  return out;
};

// np.uint8(np.clip(x, 0, 255)) for results already on the 0..255 scale.
export const fromByteFloat = (x: ArrayLike<number>, like: Pick<Image, "height" | "width" | "channels">): Image => {
  const out = makeImage(like.height, like.width, like.channels);
  const d = out.data;
  for (let i = 0; i < d.length; i++) {
    const v = x[i];
    d[i] = v > 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return out;
};
