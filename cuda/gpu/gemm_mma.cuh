// gemm_mma.cuh — the BLOCKED GEMM path for bf16 operands: tensor cores through mma.sync m16n8k16 (sm_80+), fp32
// accumulation, output fp32 or bf16. A 64 x 64 tile of C per block of 4 warps, each warp a 32 x 32 quarter as 2 x 4
// mma tiles; op(A) and op(B) are staged per 32-deep slice in shared memory as As[i][k] and Bs[j][k] (k contiguous),
// so every fragment register is one 32-bit load (rows padded to 40: the 8 row groups of a warp hit distinct banks).
// Transposes are resolved while staging; edges are zero-filled. The fallback when cuBLASLt is absent: correct for
// every shape, simple staging (no cp.async pipeline).
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace dusa_mma {

constexpr int BM = 64, BN = 64, BK = 32, THREADS = 128, ROW = BK + 8;

__device__ __forceinline__ uint32_t pair_at(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

// c (16x8, fp32) += a (16x16, row) b (16x8, col)
__device__ __forceinline__ void mma_16816(float* c, const uint32_t* a, const uint32_t* b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// C(M,N) = alpha op(A) op(B) + beta C (+ bias[j]), row-major, over `batch` matrices at element strides sa/sb/sc.
template <bool TA, bool TB, typename TO>
__global__ void __launch_bounds__(THREADS)
    gemm_mma_kernel(int M, int N, int K, float alpha, const __nv_bfloat16* __restrict__ A, int lda,
                    const __nv_bfloat16* __restrict__ B, int ldb, float beta, TO* C, int ldc, int batch, int64_t sa,
                    int64_t sb, int64_t sc, const float* __restrict__ bias) {
  __shared__ __align__(16) __nv_bfloat16 As[BM][ROW];  // op(A): row i, column k
  __shared__ __align__(16) __nv_bfloat16 Bs[BN][ROW];  // op(B) transposed: row j, column k
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  const int group = lane >> 2, pair = (lane & 3) * 2;  // the fragment coordinates of this lane
  const int mblocks = (M + BM - 1) / BM, j0 = blockIdx.x * BN;
  const __nv_bfloat16 zero = __float2bfloat16(0.0f);

  for (int z = blockIdx.z; z < batch; z += gridDim.z)
    for (int by = blockIdx.y; by < mblocks; by += gridDim.y) {
      const int i0 = by * BM;
      const __nv_bfloat16* a = A + z * sa;
      const __nv_bfloat16* b = B + z * sb;
      float acc[2][4][4] = {};  // [16-row tile][8-column tile][fragment]
      for (int k0 = 0; k0 < K; k0 += BK) {
        // consecutive threads read consecutive addresses: along k for A (M,K) and B (N,K), along i / j otherwise
        for (int e = tid; e < BM * BK; e += THREADS) {
          const int i = TA ? e % BM : e / BK, k = TA ? e / BM : e % BK, gi = i0 + i, gk = k0 + k;
          As[i][k] = gi < M && gk < K ? (TA ? a[(int64_t)gk * lda + gi] : a[(int64_t)gi * lda + gk]) : zero;
        }
        for (int e = tid; e < BN * BK; e += THREADS) {
          const int j = TB ? e / BK : e % BN, k = TB ? e % BK : e / BN, gj = j0 + j, gk = k0 + k;
          Bs[j][k] = gj < N && gk < K ? (TB ? b[(int64_t)gj * ldb + gk] : b[(int64_t)gk * ldb + gj]) : zero;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
          uint32_t af[2][4], bf[4][2];
#pragma unroll
          for (int mt = 0; mt < 2; mt++) {
            const int row = wm + mt * 16 + group;
            af[mt][0] = pair_at(&As[row][kk + pair]);
            af[mt][1] = pair_at(&As[row + 8][kk + pair]);
            af[mt][2] = pair_at(&As[row][kk + pair + 8]);
            af[mt][3] = pair_at(&As[row + 8][kk + pair + 8]);
          }
#pragma unroll
          for (int nt = 0; nt < 4; nt++) {
            const int col = wn + nt * 8 + group;
            bf[nt][0] = pair_at(&Bs[col][kk + pair]);
            bf[nt][1] = pair_at(&Bs[col][kk + pair + 8]);
          }
#pragma unroll
          for (int mt = 0; mt < 2; mt++)
#pragma unroll
            for (int nt = 0; nt < 4; nt++) mma_16816(acc[mt][nt], af[mt], bf[nt]);
        }
        __syncthreads();  // the tiles are refilled for the next slice
      }
      // epilogue: fragment element h*2 + e sits at row group + 8h, column pair + e of its 16x8 tile
      TO* c = C + z * sc;
#pragma unroll
      for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
          for (int h = 0; h < 2; h++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
              const int i = i0 + wm + mt * 16 + group + 8 * h, j = j0 + wn + nt * 8 + pair + e;
              if (i >= M || j >= N) continue;
              TO* cp = c + (int64_t)i * ldc + j;
              float v = alpha * acc[mt][nt][h * 2 + e];
              if (beta != 0.0f) v += beta * (float)*cp;
              if (bias) v += bias[j];
              *cp = (TO)v;
            }
    }
}

}  // namespace dusa_mma
