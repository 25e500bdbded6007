// The fixed 2-D sin-cos positional embedding of DiT / REPA (get_2d_sincos_pos_embed), (gridSize², dim).
// As in the reference, the grid comes from meshgrid(w, h): the first half of each vector encodes the column
// index and the second half the row; each half is [sin(pos·ω), cos(pos·ω)] with ω_k = 10000^(-k / (dim/4)).
export function sincosPosEmbed2d(dim: number, gridSize: number): Float32Array {
  if (dim % 4) throw new Error(`pos_embed: dim ${dim} must be divisible by 4`);
  const quarter = dim / 4;
  const out = new Float32Array(gridSize * gridSize * dim);
  for (let row = 0; row < gridSize; row++)
    for (let col = 0; col < gridSize; col++) {
      const base = (row * gridSize + col) * dim;
      for (let k = 0; k < quarter; k++) {
        const omega = 1 / 10000 ** (k / quarter);
        out[base + k] = Math.sin(col * omega);
        out[base + quarter + k] = Math.cos(col * omega);
        out[base + 2 * quarter + k] = Math.sin(row * omega);
        out[base + 3 * quarter + k] = Math.cos(row * omega);
      }
    }
  return out;
}
