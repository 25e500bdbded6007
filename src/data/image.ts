// An image in memory: uint8, row-major HWC (for channels = 1 this is plain HW).
export interface Image {
  data: Uint8Array; // (H, W, C)
  height: number;
  width: number;
  channels: number;
}

export const makeImage = (height: number, width: number, channels: number, data?: Uint8Array): Image => {
  const size = height * width * channels;
  if (data && data.length !== size) throw new Error(`image data has ${data.length} bytes, expected ${height}x${width}x${channels}`);
  return { data: data ?? new Uint8Array(size), height, width, channels };
};

export const cloneImage = (img: Image): Image => makeImage(img.height, img.width, img.channels, img.data.slice());

export const imageBytes = (img: Pick<Image, "height" | "width" | "channels">): number => img.height * img.width * img.channels;

// Rec. 601 luma, as OpenCV's RGB2GRAY and cv2.imread(..., 0).
export const LUMA = [0.299, 0.587, 0.114] as const;
export const luma = (r: number, g: number, b: number): number => LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;

export function toChannels(img: Image, channels: number): Image {
  if (img.channels === channels) return img;
  const n = img.height * img.width;
  const out = makeImage(img.height, img.width, channels);
  const src = img.data, dst = out.data, cin = img.channels;
  if (channels === 1) {
    if (cin < 3) for (let i = 0; i < n; i++) dst[i] = src[i * cin];
    else for (let i = 0; i < n; i++) dst[i] = Math.round(luma(src[i * cin], src[i * cin + 1], src[i * cin + 2]));
  } else if (cin === 1 || cin === 2) {
    for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) dst[i * channels + c] = c < 3 ? src[i * cin] : 255;
  } else {
    for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) dst[i * channels + c] = c < cin ? src[i * cin + c] : 255;
  }
  return out;
}

// Centre the image on a size x size canvas filled with `fill`; larger images are returned unchanged.
export function padTo(img: Image, height: number, width: number, fill = 0): Image {
  if (img.height >= height && img.width >= width) return img;
  const H = Math.max(height, img.height), W = Math.max(width, img.width), C = img.channels;
  const out = makeImage(H, W, C);
  if (fill !== 0) out.data.fill(fill);
  const top = (H - img.height) >> 1, left = (W - img.width) >> 1;
  for (let y = 0; y < img.height; y++)
    out.data.set(img.data.subarray(y * img.width * C, (y + 1) * img.width * C), ((y + top) * W + left) * C);
  return out;
}

// Python's round(): ties to even (torchvision's CenterCrop offsets use it).
export const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

export function centerCrop(img: Image, height: number, width: number): Image {
  if (img.height === height && img.width === width) return img;
  if (img.height < height || img.width < width) img = padTo(img, height, width);
  const C = img.channels, top = roundHalfEven((img.height - height) / 2), left = roundHalfEven((img.width - width) / 2);
  const out = makeImage(height, width, C);
  for (let y = 0; y < height; y++)
    out.data.set(img.data.subarray(((y + top) * img.width + left) * C, ((y + top) * img.width + left + width) * C), y * width * C);
  return out;
}
