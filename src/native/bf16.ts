// bf16 on the host, bit for bit the library's conversion (cuda/include/bf16.h): round to nearest even, a NaN keeps
// its sign and becomes quiet. For uploading fp32 data to a bf16-storage context and reading its results back.

export function toBf16(values: ArrayLike<number>): Uint16Array {
  const f = Float32Array.from(values);
  const bits = new Uint32Array(f.buffer);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536) & 0xffff;
  }
  return out;
}

export function fromBf16(bits: Uint16Array): Float32Array {
  const wide = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
  return new Float32Array(wide.buffer);
}

/** The float32 values nearest the bf16 rounding of `values` (what a bf16 store then load gives). */
export const roundToBf16 = (values: ArrayLike<number>): Float32Array => fromBf16(toBf16(values));
