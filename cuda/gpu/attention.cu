// attention.cu — fused multi-head self-attention, flash style, fp32 on the CUDA cores (no TF32: the results stay
// within float rounding of the CPU backend). No kernel ever holds more than one (query tile x key tile) block of
// the T x T scores.
//
// Forward: one block per (query tile, head, batch). The query tile stays in shared memory; key and value tiles are
// streamed through one shared buffer; an online softmax (running max m, running sum l) rescales the output
// accumulators, which live in registers. Writes out and lse = m + log l.
// Backward (no atomics, deterministic): D = rowsum(dout * out) into the workspace, then
//   dkdv: one block per (key tile, head, batch) owns its dk, dv rows and walks every query tile, recomputing
//         P = exp(scale q.k - lse) and dS = P (dout.v - D);  dv += P^T dout,  dk += scale dS^T q;
//   dq:   one block per (query tile, head, batch) walks every key tile;  dq += scale dS k.
//
// Thread layout (all kernels): NT threads as TY x TX (tx fastest). In a (rows x cols) score tile, thread (ty, tx)
// owns rows ty*RM + i and columns tx + TX*j; in a (rows x head dim) accumulator it owns the same rows and head
// columns tx + TX*j, so row statistics never leave the TX lanes that share a row (shuffle reductions).
// The head dim is padded to HDP (zero columns add nothing); HDP <= 128 keeps whole rows in shared memory (DC = HDP),
// HDP = 256/512 streams the key/value (or query/dout) tiles in column chunks of DC = 64.
#include <cmath>

#include "gpu.cuh"
#include "reduce.cuh"

namespace {

struct Attn {
  int B, T, NH, HD, rs;
  float scale;
};

// leading dimension >= n for an (rows x n) score tile written by the thread layout above, chosen so a warp's
// writes (RM*ld apart per ty, consecutive per tx) fall in distinct banks; any value >= n is correct
constexpr int score_ld(int n, int rm, int tx) {
  for (int pad = 0; pad < 32; pad++)
    if ((rm * (n + pad)) % 32 == tx % 32) return n + pad;
  return n + 1;
}

// Rows [t0, t0+R) x columns [c0, c0+W) of one head (`base` = row 0, column 0 of the head; rows `stride` apart)
// into dst[R][W+1]; rows >= T and columns >= HD read as 0.
template <int R, int W, int NT, typename T>
__device__ __forceinline__ void load_tile(float* dst, const T* base, int64_t stride, int t0, int T_, int c0, int HD) {
  for (int idx = threadIdx.x; idx < R * W; idx += NT) {
    int r = idx / W, c = idx % W, t = t0 + r, col = c0 + c;
    dst[r * (W + 1) + c] = (t < T_ && col < HD) ? dusa::to_f32(base[(int64_t)t * stride + col]) : 0.0f;
  }
}

// Tile shapes per padded head dim (see the header comment). Shared memory stays under 99 KB for every HDP.
template <int HDP>
struct Cfg {
  static constexpr bool big = HDP > 128;
  static constexpr int NT = 128;
  static constexpr int TX = big ? 16 : 8;
  static constexpr int DC = big ? 64 : HDP;
  // forward: BQ queries x BK keys
  static constexpr int F_BQ = big ? 16 : 64, F_BK = big ? 32 : 64;
  // dk/dv: KV_BK keys per block, KV_BQ queries per step
  static constexpr int KV_BK = big ? 8 : 32, KV_BQ = 32;
  // dq: Q_BQ queries per block, Q_BK keys per step
  static constexpr int Q_BQ = big ? 16 : 32, Q_BK = big ? 16 : 32;
};

// ---------------------------------------------------------------------------------------------
// forward

template <int HDP, int BQ, int BK, int TX, int DC, int NT>
struct FwdShape {
  static constexpr int TY = NT / TX, RM = BQ / TY, CN = BK / TX, OJ = HDP / TX, NCH = HDP / DC, CJ = DC / TX;
  static constexpr int LQ = HDP + 1, LKV = DC + 1, LP = score_ld(BK, RM, TX);
  static constexpr int smem_floats = BQ * LQ + BK * LKV + BQ * LP;
  static_assert(BQ % TY == 0 && BK % TX == 0 && HDP % DC == 0 && DC % TX == 0 && NT % 32 == 0 && 32 % TX == 0, "tile");
};

template <typename T, int HDP, int BQ, int BK, int TX, int DC, int NT>
__global__ void __launch_bounds__(NT) attn_forward_kernel(T* out, float* lse, const T* q, const T* k, const T* v, Attn a) {
  using S = FwdShape<HDP, BQ, BK, TX, DC, NT>;
  constexpr int RM = S::RM, CN = S::CN, OJ = S::OJ, CJ = S::CJ, LQ = S::LQ, LKV = S::LKV, LP = S::LP;
  extern __shared__ float smem[];
  float* Qs = smem;              // [BQ][LQ]
  float* KVs = Qs + BQ * LQ;     // [BK][LKV] a key chunk, then a value chunk
  float* Ps = KVs + BK * LKV;    // [BQ][LP] probabilities of the current key tile
  const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;
  const int nqb = (a.T + BQ - 1) / BQ;
  const int qb = (int)(blockIdx.x % nqb), h = (int)(blockIdx.x / nqb % a.NH), b = (int)(blockIdx.x / ((int64_t)nqb * a.NH));
  const int t0 = qb * BQ;
  const int64_t head = (int64_t)b * a.T * a.rs + (int64_t)h * a.HD;  // (b, t = 0, h) in q, k, v

  load_tile<BQ, HDP, NT>(Qs, q + head, a.rs, t0, a.T, 0, a.HD);
  float o[RM][OJ];
  float m[RM];
  double l[RM];
#pragma unroll
  for (int i = 0; i < RM; i++) {
    m[i] = -INFINITY;
    l[i] = 0.0;
#pragma unroll
    for (int j = 0; j < OJ; j++) o[i][j] = 0.0f;
  }

  for (int s0 = 0; s0 < a.T; s0 += BK) {
    // scores of this key tile
    float s[RM][CN];
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
      for (int j = 0; j < CN; j++) s[i][j] = 0.0f;
#pragma unroll
    for (int kc = 0; kc < S::NCH; kc++) {
      load_tile<BK, DC, NT>(KVs, k + head, a.rs, s0, a.T, kc * DC, a.HD);
      __syncthreads();
#pragma unroll 4
      for (int dd = 0; dd < DC; dd++) {
        float qr[RM], kr[CN];
#pragma unroll
        for (int i = 0; i < RM; i++) qr[i] = Qs[(ty * RM + i) * LQ + kc * DC + dd];
#pragma unroll
        for (int j = 0; j < CN; j++) kr[j] = KVs[(tx + TX * j) * LKV + dd];
#pragma unroll
        for (int i = 0; i < RM; i++)
#pragma unroll
          for (int j = 0; j < CN; j++) s[i][j] = fmaf(qr[i], kr[j], s[i][j]);
      }
      __syncthreads();
    }
    // online softmax: new running max, rescale the accumulators, probabilities into Ps
#pragma unroll
    for (int i = 0; i < RM; i++) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < CN; j++) {
        s[i][j] = (s0 + tx + TX * j < a.T) ? s[i][j] * a.scale : -INFINITY;
        tile_max = fmaxf(tile_max, s[i][j]);
      }
      float mx = fmaxf(m[i], dusa::group_max<TX>(tile_max));
      float correction = expf(m[i] - mx);  // 0 on the first tile (m = -inf)
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < CN; j++) {
        float p = expf(s[i][j] - mx);
        sum += p;
        Ps[(ty * RM + i) * LP + tx + TX * j] = p;
      }
      l[i] = l[i] * correction + dusa::group_sum<TX>(sum);
      m[i] = mx;
#pragma unroll
      for (int j = 0; j < OJ; j++) o[i][j] *= correction;
    }
    // o += P V
#pragma unroll
    for (int kc = 0; kc < S::NCH; kc++) {
      load_tile<BK, DC, NT>(KVs, v + head, a.rs, s0, a.T, kc * DC, a.HD);
      __syncthreads();
#pragma unroll 4
      for (int c = 0; c < BK; c++) {
        float pr[RM];
#pragma unroll
        for (int i = 0; i < RM; i++) pr[i] = Ps[(ty * RM + i) * LP + c];
#pragma unroll
        for (int jj = 0; jj < CJ; jj++) {
          float vv = KVs[c * LKV + tx + TX * jj];
#pragma unroll
          for (int i = 0; i < RM; i++) o[i][kc * CJ + jj] = fmaf(pr[i], vv, o[i][kc * CJ + jj]);
        }
      }
      __syncthreads();
    }
  }

  const int64_t os = (int64_t)a.NH * a.HD;
#pragma unroll
  for (int i = 0; i < RM; i++) {
    int t = t0 + ty * RM + i;
    if (t >= a.T) continue;
    float inv = (float)(1.0 / l[i]);
    T* orow = out + ((int64_t)b * a.T + t) * os + (int64_t)h * a.HD;
#pragma unroll
    for (int j = 0; j < OJ; j++) {
      int d = tx + TX * j;
      if (d < a.HD) dusa::store_f32(orow + d, o[i][j] * inv);
    }
    if (tx == 0) lse[((int64_t)b * a.NH + h) * a.T + t] = (float)((double)m[i] + log(l[i]));
  }
}

// ---------------------------------------------------------------------------------------------
// backward: D = rowsum(dout * out), one warp per (b, h, t), in double like the CPU

template <typename T>
__global__ void attn_rowdot_kernel(float* D, const T* dout, const T* out, Attn a) {
  const int64_t rows = (int64_t)a.B * a.NH * a.T, os = (int64_t)a.NH * a.HD;
  const int lane = threadIdx.x & 31;
  for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) / 32; r < rows;
       r += (int64_t)gridDim.x * blockDim.x / 32) {
    int t = (int)(r % a.T), h = (int)(r / a.T % a.NH), b = (int)(r / ((int64_t)a.T * a.NH));
    int64_t off = ((int64_t)b * a.T + t) * os + (int64_t)h * a.HD;
    double acc = 0.0;
    for (int d = lane; d < a.HD; d += 32) acc += (double)dusa::to_f32(dout[off + d]) * dusa::to_f32(out[off + d]);
    acc = dusa::warp_sum(acc);
    if (lane == 0) D[r] = (float)acc;
  }
}

// dk, dv: rows of the score tiles are keys (BK per block), columns are queries (BQ per step)
template <int HDP, int BQ, int BK, int TX, int DC, int NT>
struct DkvShape {
  static constexpr int TY = NT / TX, RM = BK / TY, CN = BQ / TX, OJ = HDP / TX, NCH = HDP / DC, CJ = DC / TX;
  static constexpr int LH = HDP + 1, LC = DC + 1, LP = score_ld(BQ, RM, TX);
  static constexpr int smem_floats = 2 * BK * LH + 2 * BQ * LC + 2 * BK * LP + 2 * BQ;
  static_assert(BK % TY == 0 && BQ % TX == 0 && HDP % DC == 0 && DC % TX == 0 && NT % 32 == 0 && 32 % TX == 0, "tile");
};

template <typename T, int HDP, int BQ, int BK, int TX, int DC, int NT>
__global__ void __launch_bounds__(NT) attn_backward_dkdv_kernel(T* dk, T* dv, const T* dout, const T* q, const T* k,
                                                                const T* v, const float* lse, const float* D, Attn a) {
  using S = DkvShape<HDP, BQ, BK, TX, DC, NT>;
  constexpr int RM = S::RM, CN = S::CN, OJ = S::OJ, CJ = S::CJ, NCH = S::NCH, LH = S::LH, LC = S::LC, LP = S::LP;
  extern __shared__ float smem[];
  float* Ks = smem;             // [BK][LH]
  float* Vs = Ks + BK * LH;     // [BK][LH]
  float* Qc = Vs + BK * LH;     // [BQ][LC] query chunk
  float* dOc = Qc + BQ * LC;    // [BQ][LC] dout chunk
  float* Ps = dOc + BQ * LC;    // [BK][LP]
  float* dSs = Ps + BK * LP;    // [BK][LP]
  float* Ls = dSs + BK * LP;    // [BQ] lse of the query tile
  float* Ds = Ls + BQ;          // [BQ] D of the query tile
  const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;
  const int nkb = (a.T + BK - 1) / BK;
  const int kb = (int)(blockIdx.x % nkb), h = (int)(blockIdx.x / nkb % a.NH), b = (int)(blockIdx.x / ((int64_t)nkb * a.NH));
  const int s0 = kb * BK;
  const int64_t os = (int64_t)a.NH * a.HD;
  const int64_t head = (int64_t)b * a.T * a.rs + (int64_t)h * a.HD;  // q, k, v
  const int64_t ohead = (int64_t)b * a.T * os + (int64_t)h * a.HD;   // dout
  const int64_t lhead = ((int64_t)b * a.NH + h) * a.T;                // lse, D

  load_tile<BK, HDP, NT>(Ks, k + head, a.rs, s0, a.T, 0, a.HD);
  load_tile<BK, HDP, NT>(Vs, v + head, a.rs, s0, a.T, 0, a.HD);
  float gk[RM][OJ], gv[RM][OJ];
#pragma unroll
  for (int i = 0; i < RM; i++)
#pragma unroll
    for (int j = 0; j < OJ; j++) gk[i][j] = gv[i][j] = 0.0f;

  for (int t0 = 0; t0 < a.T; t0 += BQ) {
    for (int c = threadIdx.x; c < BQ; c += NT) {
      bool valid = t0 + c < a.T;
      Ls[c] = valid ? lse[lhead + t0 + c] : 0.0f;
      Ds[c] = valid ? D[lhead + t0 + c] : 0.0f;
    }
    // S^T = K Q^T and dP^T = V dO^T for this query tile
    float s[RM][CN], dp[RM][CN];
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
      for (int j = 0; j < CN; j++) s[i][j] = dp[i][j] = 0.0f;
#pragma unroll
    for (int kc = 0; kc < NCH; kc++) {
      load_tile<BQ, DC, NT>(Qc, q + head, a.rs, t0, a.T, kc * DC, a.HD);
      load_tile<BQ, DC, NT>(dOc, dout + ohead, os, t0, a.T, kc * DC, a.HD);
      __syncthreads();
#pragma unroll 2
      for (int dd = 0; dd < DC; dd++) {
        float kr[RM], vr[RM], qc[CN], oc[CN];
#pragma unroll
        for (int i = 0; i < RM; i++) {
          kr[i] = Ks[(ty * RM + i) * LH + kc * DC + dd];
          vr[i] = Vs[(ty * RM + i) * LH + kc * DC + dd];
        }
#pragma unroll
        for (int j = 0; j < CN; j++) {
          qc[j] = Qc[(tx + TX * j) * LC + dd];
          oc[j] = dOc[(tx + TX * j) * LC + dd];
        }
#pragma unroll
        for (int i = 0; i < RM; i++)
#pragma unroll
          for (int j = 0; j < CN; j++) {
            s[i][j] = fmaf(kr[i], qc[j], s[i][j]);
            dp[i][j] = fmaf(vr[i], oc[j], dp[i][j]);
          }
      }
      if (NCH > 1) __syncthreads();  // with one chunk, Qc and dOc stay for the products below
    }
    // P^T and dS^T (queries past T contribute nothing)
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
      for (int j = 0; j < CN; j++) {
        int c = tx + TX * j;
        float p = (t0 + c < a.T) ? expf(s[i][j] * a.scale - Ls[c]) : 0.0f;
        Ps[(ty * RM + i) * LP + c] = p;
        dSs[(ty * RM + i) * LP + c] = p * (dp[i][j] - Ds[c]);
      }
    // dv += P^T dO, dk += dS^T Q (scaled at the end)
#pragma unroll
    for (int kc = 0; kc < NCH; kc++) {
      if (NCH > 1) {
        load_tile<BQ, DC, NT>(Qc, q + head, a.rs, t0, a.T, kc * DC, a.HD);
        load_tile<BQ, DC, NT>(dOc, dout + ohead, os, t0, a.T, kc * DC, a.HD);
      }
      __syncthreads();
#pragma unroll 2
      for (int c = 0; c < BQ; c++) {
        float pr[RM], sr[RM];
#pragma unroll
        for (int i = 0; i < RM; i++) {
          pr[i] = Ps[(ty * RM + i) * LP + c];
          sr[i] = dSs[(ty * RM + i) * LP + c];
        }
#pragma unroll
        for (int jj = 0; jj < CJ; jj++) {
          float ov = dOc[c * LC + tx + TX * jj], qv = Qc[c * LC + tx + TX * jj];
#pragma unroll
          for (int i = 0; i < RM; i++) {
            gv[i][kc * CJ + jj] = fmaf(pr[i], ov, gv[i][kc * CJ + jj]);
            gk[i][kc * CJ + jj] = fmaf(sr[i], qv, gk[i][kc * CJ + jj]);
          }
        }
      }
      __syncthreads();
    }
  }

#pragma unroll
  for (int i = 0; i < RM; i++) {
    int t = s0 + ty * RM + i;
    if (t >= a.T) continue;
    int64_t row = ((int64_t)b * a.T + t) * a.rs + (int64_t)h * a.HD;
#pragma unroll
    for (int j = 0; j < OJ; j++) {
      int d = tx + TX * j;
      if (d >= a.HD) continue;
      if (dk) dusa::store_f32(dk + row + d, gk[i][j] * a.scale);
      if (dv) dusa::store_f32(dv + row + d, gv[i][j]);
    }
  }
}

// dq: rows of the score tiles are queries (BQ per block), columns are keys (BK per step)
template <int HDP, int BQ, int BK, int TX, int DC, int NT>
struct DqShape {
  static constexpr int TY = NT / TX, RM = BQ / TY, CN = BK / TX, OJ = HDP / TX, NCH = HDP / DC, CJ = DC / TX;
  static constexpr int LH = HDP + 1, LC = DC + 1, LP = score_ld(BK, RM, TX);
  static constexpr int smem_floats = 2 * BQ * LH + 2 * BK * LC + BQ * LP;
  static_assert(BQ % TY == 0 && BK % TX == 0 && HDP % DC == 0 && DC % TX == 0 && NT % 32 == 0 && 32 % TX == 0, "tile");
};

template <typename T, int HDP, int BQ, int BK, int TX, int DC, int NT>
__global__ void __launch_bounds__(NT) attn_backward_dq_kernel(T* dq, const T* dout, const T* q, const T* k, const T* v,
                                                              const float* lse, const float* D, Attn a) {
  using S = DqShape<HDP, BQ, BK, TX, DC, NT>;
  constexpr int RM = S::RM, CN = S::CN, OJ = S::OJ, CJ = S::CJ, NCH = S::NCH, LH = S::LH, LC = S::LC, LP = S::LP;
  extern __shared__ float smem[];
  float* Qs = smem;             // [BQ][LH]
  float* dOs = Qs + BQ * LH;    // [BQ][LH]
  float* Kc = dOs + BQ * LH;    // [BK][LC] key chunk
  float* Vc = Kc + BK * LC;     // [BK][LC] value chunk
  float* dSs = Vc + BK * LC;    // [BQ][LP]
  const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;
  const int nqb = (a.T + BQ - 1) / BQ;
  const int qb = (int)(blockIdx.x % nqb), h = (int)(blockIdx.x / nqb % a.NH), b = (int)(blockIdx.x / ((int64_t)nqb * a.NH));
  const int t0 = qb * BQ;
  const int64_t os = (int64_t)a.NH * a.HD;
  const int64_t head = (int64_t)b * a.T * a.rs + (int64_t)h * a.HD;
  const int64_t ohead = (int64_t)b * a.T * os + (int64_t)h * a.HD;
  const int64_t lhead = ((int64_t)b * a.NH + h) * a.T;

  load_tile<BQ, HDP, NT>(Qs, q + head, a.rs, t0, a.T, 0, a.HD);
  load_tile<BQ, HDP, NT>(dOs, dout + ohead, os, t0, a.T, 0, a.HD);
  float lr[RM], Dr[RM], g[RM][OJ];
#pragma unroll
  for (int i = 0; i < RM; i++) {
    int t = t0 + ty * RM + i;
    lr[i] = t < a.T ? lse[lhead + t] : 0.0f;
    Dr[i] = t < a.T ? D[lhead + t] : 0.0f;
#pragma unroll
    for (int j = 0; j < OJ; j++) g[i][j] = 0.0f;
  }

  for (int s0 = 0; s0 < a.T; s0 += BK) {
    float s[RM][CN], dp[RM][CN];
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
      for (int j = 0; j < CN; j++) s[i][j] = dp[i][j] = 0.0f;
#pragma unroll
    for (int kc = 0; kc < NCH; kc++) {
      load_tile<BK, DC, NT>(Kc, k + head, a.rs, s0, a.T, kc * DC, a.HD);
      load_tile<BK, DC, NT>(Vc, v + head, a.rs, s0, a.T, kc * DC, a.HD);
      __syncthreads();
#pragma unroll 2
      for (int dd = 0; dd < DC; dd++) {
        float qr[RM], orr[RM], kr[CN], vr[CN];
#pragma unroll
        for (int i = 0; i < RM; i++) {
          qr[i] = Qs[(ty * RM + i) * LH + kc * DC + dd];
          orr[i] = dOs[(ty * RM + i) * LH + kc * DC + dd];
        }
#pragma unroll
        for (int j = 0; j < CN; j++) {
          kr[j] = Kc[(tx + TX * j) * LC + dd];
          vr[j] = Vc[(tx + TX * j) * LC + dd];
        }
#pragma unroll
        for (int i = 0; i < RM; i++)
#pragma unroll
          for (int j = 0; j < CN; j++) {
            s[i][j] = fmaf(qr[i], kr[j], s[i][j]);
            dp[i][j] = fmaf(orr[i], vr[j], dp[i][j]);
          }
      }
      if (NCH > 1) __syncthreads();  // with one chunk, Kc stays for the product below
    }
    // dS (keys past T contribute nothing)
#pragma unroll
    for (int i = 0; i < RM; i++)
#pragma unroll
      for (int j = 0; j < CN; j++) {
        int c = tx + TX * j;
        float p = (s0 + c < a.T) ? expf(s[i][j] * a.scale - lr[i]) : 0.0f;
        dSs[(ty * RM + i) * LP + c] = p * (dp[i][j] - Dr[i]);
      }
    // dq += dS K (scaled at the end)
#pragma unroll
    for (int kc = 0; kc < NCH; kc++) {
      if (NCH > 1) load_tile<BK, DC, NT>(Kc, k + head, a.rs, s0, a.T, kc * DC, a.HD);
      __syncthreads();
#pragma unroll 4
      for (int c = 0; c < BK; c++) {
        float sr[RM];
#pragma unroll
        for (int i = 0; i < RM; i++) sr[i] = dSs[(ty * RM + i) * LP + c];
#pragma unroll
        for (int jj = 0; jj < CJ; jj++) {
          float kv = Kc[c * LC + tx + TX * jj];
#pragma unroll
          for (int i = 0; i < RM; i++) g[i][kc * CJ + jj] = fmaf(sr[i], kv, g[i][kc * CJ + jj]);
        }
      }
      __syncthreads();
    }
  }

#pragma unroll
  for (int i = 0; i < RM; i++) {
    int t = t0 + ty * RM + i;
    if (t >= a.T) continue;
    T* row = dq + ((int64_t)b * a.T + t) * a.rs + (int64_t)h * a.HD;
#pragma unroll
    for (int j = 0; j < OJ; j++) {
      int d = tx + TX * j;
      if (d < a.HD) dusa::store_f32(row + d, g[i][j] * a.scale);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// launchers

int check_sizes(const char* fn, int B, int T, int NH, int HD, int row_stride) {
  if (B <= 0 || T <= 0 || NH <= 0 || HD <= 0)
    return dusa::fail(DUSA_ERR_INVALID, "%s: B, T, NH, HD must be > 0, got B=%d T=%d NH=%d HD=%d", fn, B, T, NH, HD);
  if ((int64_t)row_stride < (int64_t)NH * HD)
    return dusa::fail(DUSA_ERR_INVALID, "%s: row_stride (%d) must be >= NH*HD (%lld)", fn, row_stride,
                      (long long)NH * HD);
  if (HD > 512)
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "%s: head dim %d is above the CUDA backend's limit of 512", fn, HD);
  return DUSA_OK;
}

// blocks = tiles * NH * B in one grid dimension (x allows 2^31 - 1)
int grid_for(const char* fn, int T, int tile, int NH, int B, unsigned* blocks) {
  int64_t n = (int64_t)((T + tile - 1) / tile) * NH * B;
  if (n > 0x7fffffff)
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "%s: %lld blocks exceed the grid limit", fn, (long long)n);
  *blocks = (unsigned)n;
  return DUSA_OK;
}

template <typename K>
int prepare(K kernel, int smem_bytes, const char* fn) {
  if (smem_bytes > 48 * 1024) {
    cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
    if (err != cudaSuccess) return dusa::cuda_fail(err, fn, "cudaFuncSetAttribute (shared memory)");
  }
  return DUSA_OK;
}

template <typename T, int HDP>
int forward_hd(dusa_ctx* ctx, T* out, float* lse, const T* q, const T* k, const T* v, const Attn& a) {
  using C = Cfg<HDP>;
  using S = FwdShape<HDP, C::F_BQ, C::F_BK, C::TX, C::DC, C::NT>;
  auto kernel = attn_forward_kernel<T, HDP, C::F_BQ, C::F_BK, C::TX, C::DC, C::NT>;
  const int smem = S::smem_floats * (int)sizeof(float);
  unsigned blocks = 0;
  if (int status = grid_for("dusa_attention_forward", a.T, C::F_BQ, a.NH, a.B, &blocks)) return status;
  if (int status = prepare(kernel, smem, "dusa_attention_forward")) return status;
  kernel<<<blocks, C::NT, smem, ctx->stream>>>(out, lse, q, k, v, a);
  cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? DUSA_OK : dusa::cuda_fail(err, "dusa_attention_forward", "kernel launch");
}

template <typename T, int HDP>
int backward_hd(dusa_ctx* ctx, T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const float* lse,
                const float* D, const Attn& a) {
  using C = Cfg<HDP>;
  const char* fn = "dusa_attention_backward";
  unsigned blocks = 0;
  if (dk || dv) {
    using S = DkvShape<HDP, C::KV_BQ, C::KV_BK, C::TX, C::DC, C::NT>;
    auto kernel = attn_backward_dkdv_kernel<T, HDP, C::KV_BQ, C::KV_BK, C::TX, C::DC, C::NT>;
    const int smem = S::smem_floats * (int)sizeof(float);
    if (int status = grid_for(fn, a.T, C::KV_BK, a.NH, a.B, &blocks)) return status;
    if (int status = prepare(kernel, smem, fn)) return status;
    kernel<<<blocks, C::NT, smem, ctx->stream>>>(dk, dv, dout, q, k, v, lse, D, a);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return dusa::cuda_fail(err, fn, "kernel launch (dk, dv)");
  }
  if (dq) {
    using S = DqShape<HDP, C::Q_BQ, C::Q_BK, C::TX, C::DC, C::NT>;
    auto kernel = attn_backward_dq_kernel<T, HDP, C::Q_BQ, C::Q_BK, C::TX, C::DC, C::NT>;
    const int smem = S::smem_floats * (int)sizeof(float);
    if (int status = grid_for(fn, a.T, C::Q_BQ, a.NH, a.B, &blocks)) return status;
    if (int status = prepare(kernel, smem, fn)) return status;
    kernel<<<blocks, C::NT, smem, ctx->stream>>>(dq, dout, q, k, v, lse, D, a);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return dusa::cuda_fail(err, fn, "kernel launch (dq)");
  }
  return DUSA_OK;
}

// the padded head dim: the smallest instantiated HDP >= HD (HD <= 512 checked)
int padded_hd(int HD) {
  const int sizes[] = {8, 16, 32, 64, 72, 128, 256, 512};
  for (int s : sizes)
    if (HD <= s) return s;
  return 0;
}

}  // namespace

extern "C" {

int dusa_attention_forward(dusa_ctx* ctx, float* out, float* lse, const float* q, const float* k, const float* v, int B,
                           int T, int NH, int HD, int row_stride) {
  DUSA_OP(ctx);
  CHECK_PTR(out); CHECK_PTR(lse); CHECK_PTR(q); CHECK_PTR(k); CHECK_PTR(v);
  if (int status = check_sizes(__func__, B, T, NH, HD, row_stride)) return status;
  Attn a{B, T, NH, HD, row_stride, (float)(1.0 / std::sqrt((double)HD))};
  return dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    S* o = dusa::act<S>(out);
    const S *qs = dusa::act<S>(q), *ks = dusa::act<S>(k), *vs = dusa::act<S>(v);
    switch (padded_hd(HD)) {
      case 8: return forward_hd<S, 8>(ctx, o, lse, qs, ks, vs, a);
      case 16: return forward_hd<S, 16>(ctx, o, lse, qs, ks, vs, a);
      case 32: return forward_hd<S, 32>(ctx, o, lse, qs, ks, vs, a);
      case 64: return forward_hd<S, 64>(ctx, o, lse, qs, ks, vs, a);
      case 72: return forward_hd<S, 72>(ctx, o, lse, qs, ks, vs, a);
      case 128: return forward_hd<S, 128>(ctx, o, lse, qs, ks, vs, a);
      case 256: return forward_hd<S, 256>(ctx, o, lse, qs, ks, vs, a);
      default: return forward_hd<S, 512>(ctx, o, lse, qs, ks, vs, a);
    }
  });
}

int dusa_attention_backward(dusa_ctx* ctx, float* dq, float* dk, float* dv, const float* dout, const float* q,
                            const float* k, const float* v, const float* out, const float* lse, int B, int T, int NH,
                            int HD, int row_stride) {
  DUSA_OP(ctx);
  CHECK_PTR(dout); CHECK_PTR(q); CHECK_PTR(k); CHECK_PTR(v); CHECK_PTR(out); CHECK_PTR(lse);
  if (int status = check_sizes(__func__, B, T, NH, HD, row_stride)) return status;
  if (!dq && !dk && !dv) return DUSA_OK;
  Attn a{B, T, NH, HD, row_stride, (float)(1.0 / std::sqrt((double)HD))};
  const int64_t rows = (int64_t)B * NH * T;
  float* D = dusa::workspace(ctx, (uint64_t)rows);  // (B, NH, T)
  if (!D) return DUSA_ERR_OOM;
  return dusa::with_storage(ctx, [&](auto t) {
    using S = decltype(t);
    S *dqs = dusa::act<S>(dq), *dks = dusa::act<S>(dk), *dvs = dusa::act<S>(dv);
    const S *g = dusa::act<S>(dout), *qs = dusa::act<S>(q), *ks = dusa::act<S>(k), *vs = dusa::act<S>(v);
    attn_rowdot_kernel<<<dusa::capped_blocks((uint64_t)rows * 32, 256), 256, 0, ctx->stream>>>(D, g, dusa::act<S>(out), a);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return dusa::cuda_fail(err, "dusa_attention_backward", "kernel launch (rowdot)");
    switch (padded_hd(HD)) {
      case 8: return backward_hd<S, 8>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 16: return backward_hd<S, 16>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 32: return backward_hd<S, 32>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 64: return backward_hd<S, 64>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 72: return backward_hd<S, 72>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 128: return backward_hd<S, 128>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      case 256: return backward_hd<S, 256>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
      default: return backward_hd<S, 512>(ctx, dqs, dks, dvs, g, qs, ks, vs, lse, D, a);
    }
  });
}

}  // extern "C"
