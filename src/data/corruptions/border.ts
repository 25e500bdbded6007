// Index maps for the border modes of the reference's libraries, for an axis of length n.

// scipy "nearest" (skimage.filters.gaussian default) and ImageMagick's edge virtual pixels: aaa|abcd|ddd
export const clampIndex = (i: number, n: number): number => (i < 0 ? 0 : i >= n ? n - 1 : i);

// scipy "reflect" (half-sample symmetric): dcba|abcd|dcba
export const reflectIndex = (i: number, n: number): number => {
  if (n === 1) return 0;
  const period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i >= n ? period - 1 - i : i;
};

// OpenCV BORDER_REFLECT_101 (default for filter2D, GaussianBlur, blur, warpAffine here): dcb|abcd|cba
export const reflect101Index = (i: number, n: number): number => {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i >= n ? period - i : i;
};
