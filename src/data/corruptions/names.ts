// The 15 benchmark corruptions in the standard order, then the 4 extra ("validation") ones; the names are the
// reference's function names, which are also its .npy file and ImageNet-C folder names.
export const BENCHMARK_CORRUPTIONS = [
  "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
  "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
] as const;
export const EXTRA_CORRUPTIONS = ["speckle_noise", "gaussian_blur", "spatter", "saturate"] as const;
export const ALL_CORRUPTIONS = [...BENCHMARK_CORRUPTIONS, ...EXTRA_CORRUPTIONS] as const;
export type CorruptionName = (typeof ALL_CORRUPTIONS)[number];
export const SEVERITIES = [1, 2, 3, 4, 5] as const;

export const isCorruptionName = (s: string): s is CorruptionName => (ALL_CORRUPTIONS as readonly string[]).includes(s);

// Which parameter table: "cifar" (the 32x32 table of make_cifar_c.py) or "imagenet" (the 224 table).
export type SizeFamily = "cifar" | "imagenet";
export const sizeFamilyFor = (height: number, width: number): SizeFamily => (Math.max(height, width) <= 64 ? "cifar" : "imagenet");
