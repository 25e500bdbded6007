// skimage.color.rgb2hsv / hsv2rgb on one pixel (all in [0, 1]); ties in the max channel resolve as skimage's
// successive masks do (blue over green over red).
export function rgbToHsv(r: number, g: number, b: number, out: Float64Array): void {
  const v = Math.max(r, g, b), delta = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : delta / v;
  let h = 0;
  if (delta !== 0) {
    if (b === v) h = 4 + (r - g) / delta;
    else if (g === v) h = 2 + (b - r) / delta;
    else h = (g - b) / delta;
    h = h / 6;
    h = h - Math.floor(h); // Python's % 1.0
  }
  out[0] = h; out[1] = s; out[2] = v;
}

export function hsvToRgb(h: number, s: number, v: number, out: Float64Array): void {
  const hi6 = Math.floor(h * 6), f = h * 6 - hi6;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const hi = ((hi6 % 6) + 6) % 6;
  switch (hi) {
    case 0: out[0] = v; out[1] = t; out[2] = p; break;
    case 1: out[0] = q; out[1] = v; out[2] = p; break;
    case 2: out[0] = p; out[1] = v; out[2] = t; break;
    case 3: out[0] = p; out[1] = q; out[2] = v; break;
    case 4: out[0] = t; out[1] = p; out[2] = v; break;
    default: out[0] = v; out[1] = p; out[2] = q;
  }
}
