// gemm.cu — the three GEMM paths of the CUDA backend (row-major, like the CPU backend), and dusa_matmul(_batched).
//   NAIVE    one thread per output, double accumulators: the oracle; reference mode always takes it
//   BLOCKED  fp32: our tiled SIMT kernel: BM x BN x 8 shared-memory tiles (double-buffered), an 8x8 register
//            micro-tile per thread, float4 loads and stores when everything is 16-byte aligned; plain fp32 FMAs (no
//            TF32). bf16 operands: tensor cores, mma.sync m16n8k16 with fp32 accumulation (gemm_mma.cuh)
//   BLAS     cuBLASLt, opened with dlopen at run time (never linked, no cuBLAS headers needed), CUBLAS_COMPUTE_32F
// AUTO is BLAS when the library loads, else BLOCKED.
#include <dlfcn.h>
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "gemm.cuh"
#include "gemm_mma.cuh"

// Element types: TI of A and B, TO of C — float, or __nv_bfloat16 (bf16 storage; weight gradients are bf16 x bf16 ->
// float). Accumulation is fp32 (double in the oracle). The float4 paths are fp32-only; bf16 loads element by element.

namespace {

// ---------------------------------------------------------------------------------------------
// NAIVE: one thread per output element of every batch

template <typename TI, typename TO>
__global__ void gemm_naive_kernel(bool ta, bool tb, int M, int N, int K, float alpha, const TI* A, int lda,
                                  const TI* B, int ldb, float beta, TO* C, int ldc, int batch, int64_t sa,
                                  int64_t sb, int64_t sc, const float* bias) {
  uint64_t total = (uint64_t)batch * M * N;
  for (uint64_t e = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; e < total; e += (uint64_t)gridDim.x * blockDim.x) {
    int j = (int)(e % N);
    int i = (int)(e / N % M);
    int64_t z = (int64_t)(e / N / M);
    const TI* a = A + z * sa;
    const TI* b = B + z * sb;
    double acc = 0.0;
    for (int k = 0; k < K; k++) {
      float av = ta ? (float)a[(int64_t)k * lda + i] : (float)a[(int64_t)i * lda + k];
      float bv = tb ? (float)b[(int64_t)j * ldb + k] : (float)b[(int64_t)k * ldb + j];
      acc += (double)av * (double)bv;
    }
    TO* c = C + z * sc + (int64_t)i * ldc + j;
    double v = alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * (float)*c);
    if (bias) v += bias[j];
    *c = (TO)(float)v;
  }
}

// C[z][i][j] += bias[j] (for the cuBLASLt path when its bias epilogue is not used)
template <typename TO>
__global__ void bias_add_kernel(TO* C, int ldc, int64_t sc, int M, int N, int batch, const float* bias) {
  uint64_t total = (uint64_t)batch * M * N;
  for (uint64_t e = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; e < total; e += (uint64_t)gridDim.x * blockDim.x) {
    int j = (int)(e % N);
    int i = (int)(e / N % M);
    int64_t z = (int64_t)(e / N / M);
    TO* c = C + z * sc + (int64_t)i * ldc + j;
    *c = (TO)((float)*c + bias[j]);
  }
}

// ---------------------------------------------------------------------------------------------
// BLOCKED: each block computes a BM x BN tile of C from BK-deep slices of op(A) and op(B) staged in shared memory as
// As[k][i] and Bs[k][j]. Thread (ty, tx) owns rows {g*BM/2 + ty*4 + r} and columns {g*BN/2 + tx*4 + c} (g in 0..1,
// r, c in 0..3), so its operands are two float4 reads per k from each tile. Tiles are loaded as groups of 4 elements
// that are contiguous in global memory (float4 when VEC), transposed on the way into shared memory where needed.

constexpr int BK = 8;
constexpr int PAD = 4;  // pads the shared rows: the transposing stores hit 32 distinct banks, float4 alignment kept

// 4 consecutive elements row[d .. d+3] of a row of extent D (zero beyond D, all zero when the row is out of range)
template <bool VEC, typename TI>
__device__ __forceinline__ float4 load4(const TI* row, bool row_ok, int d, int D) {
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (!row_ok) return v;
  const TI* s = row + d;
  if (VEC && d + 3 < D) return *reinterpret_cast<const float4*>(s);  // VEC only with TI = float
  if (d < D) v.x = (float)s[0];
  if (d + 1 < D) v.y = (float)s[1];
  if (d + 2 < D) v.z = (float)s[2];
  if (d + 3 < D) v.w = (float)s[3];
  return v;
}

template <int BM, int BN, bool TA, bool TB, bool VEC, typename TI, typename TO>
__global__ void __launch_bounds__((BM / 8) * (BN / 8))
    gemm_blocked_kernel(int M, int N, int K, float alpha, const TI* __restrict__ A, int lda,
                        const TI* __restrict__ B, int ldb, float beta, TO* C, int ldc, int batch, int64_t sa,
                        int64_t sb, int64_t sc, const float* __restrict__ bias) {
  constexpr int TX = BN / 8, NT = (BM / 8) * TX;
  constexpr int AG = BM * BK / 4 / NT, BG = BN * BK / 4 / NT;  // 4-element groups each thread loads per slice
  static_assert(AG >= 1 && BG >= 1 && BM * BK / 4 % NT == 0 && BN * BK / 4 % NT == 0, "tile shape");
  __shared__ __align__(16) float As[2][BK][BM + PAD];
  __shared__ __align__(16) float Bs[2][BK][BN + PAD];
  const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;
  const int mblocks = (M + BM - 1) / BM, ktiles = (K + BK - 1) / BK;
  const int j0 = blockIdx.x * BN;

  for (int z = blockIdx.z; z < batch; z += gridDim.z)
    for (int by = blockIdx.y; by < mblocks; by += gridDim.y) {
      const int i0 = by * BM;
      const TI* a = A + z * sa;
      const TI* b = B + z * sb;
      TO* c = C + z * sc;
      float4 ra[AG], rb[BG];

      // global -> registers: the slice k0 .. k0+BK-1 of op(A) (BM x BK) and op(B) (BK x BN)
      auto load = [&](int k0) {
#pragma unroll
        for (int r = 0; r < AG; r++) {
          int q = tid + r * NT;
          if (!TA) {  // A is (M, K): groups run along k
            int i = q / (BK / 4), kq = q % (BK / 4) * 4;
            ra[r] = load4<VEC>(a + (int64_t)(i0 + i) * lda, i0 + i < M, k0 + kq, K);
          } else {  // A is (K, M): groups run along i
            int k = q / (BM / 4), iq = q % (BM / 4) * 4;
            ra[r] = load4<VEC>(a + (int64_t)(k0 + k) * lda, k0 + k < K, i0 + iq, M);
          }
        }
#pragma unroll
        for (int r = 0; r < BG; r++) {
          int q = tid + r * NT;
          if (!TB) {  // B is (K, N): groups run along j
            int k = q / (BN / 4), jq = q % (BN / 4) * 4;
            rb[r] = load4<VEC>(b + (int64_t)(k0 + k) * ldb, k0 + k < K, j0 + jq, N);
          } else {  // B is (N, K): groups run along k
            int j = q / (BK / 4), kq = q % (BK / 4) * 4;
            rb[r] = load4<VEC>(b + (int64_t)(j0 + j) * ldb, j0 + j < N, k0 + kq, K);
          }
        }
      };
      // registers -> shared buffer s, as As[k][i] and Bs[k][j]
      auto store = [&](int s) {
#pragma unroll
        for (int r = 0; r < AG; r++) {
          int q = tid + r * NT;
          if (!TA) {
            int i = q / (BK / 4), kq = q % (BK / 4) * 4;
            As[s][kq + 0][i] = ra[r].x;
            As[s][kq + 1][i] = ra[r].y;
            As[s][kq + 2][i] = ra[r].z;
            As[s][kq + 3][i] = ra[r].w;
          } else {
            int k = q / (BM / 4), iq = q % (BM / 4) * 4;
            *reinterpret_cast<float4*>(&As[s][k][iq]) = ra[r];
          }
        }
#pragma unroll
        for (int r = 0; r < BG; r++) {
          int q = tid + r * NT;
          if (!TB) {
            int k = q / (BN / 4), jq = q % (BN / 4) * 4;
            *reinterpret_cast<float4*>(&Bs[s][k][jq]) = rb[r];
          } else {
            int j = q / (BK / 4), kq = q % (BK / 4) * 4;
            Bs[s][kq + 0][j] = rb[r].x;
            Bs[s][kq + 1][j] = rb[r].y;
            Bs[s][kq + 2][j] = rb[r].z;
            Bs[s][kq + 3][j] = rb[r].w;
          }
        }
      };

      float acc[8][8];
#pragma unroll
      for (int m = 0; m < 8; m++)
#pragma unroll
        for (int n = 0; n < 8; n++) acc[m][n] = 0.0f;

      load(0);
      store(0);
      __syncthreads();
      for (int t = 0; t < ktiles; t++) {
        const int cur = t & 1;
        if (t + 1 < ktiles) load((t + 1) * BK);  // the next slice is in flight while this one is multiplied
#pragma unroll
        for (int k = 0; k < BK; k++) {
          float av[8], bv[8];
#pragma unroll
          for (int g = 0; g < 2; g++) {
            float4 x = *reinterpret_cast<const float4*>(&As[cur][k][g * (BM / 2) + ty * 4]);
            float4 y = *reinterpret_cast<const float4*>(&Bs[cur][k][g * (BN / 2) + tx * 4]);
            av[g * 4 + 0] = x.x; av[g * 4 + 1] = x.y; av[g * 4 + 2] = x.z; av[g * 4 + 3] = x.w;
            bv[g * 4 + 0] = y.x; bv[g * 4 + 1] = y.y; bv[g * 4 + 2] = y.z; bv[g * 4 + 3] = y.w;
          }
#pragma unroll
          for (int m = 0; m < 8; m++)
#pragma unroll
            for (int n = 0; n < 8; n++) acc[m][n] = fmaf(av[m], bv[n], acc[m][n]);
        }
        if (t + 1 < ktiles) store(cur ^ 1);
        __syncthreads();  // the other buffer is written and this one is free for the slice after next
      }

      // epilogue: C = alpha acc + beta C + bias, never reading C when beta == 0
#pragma unroll
      for (int m = 0; m < 8; m++) {
        const int i = i0 + (m / 4) * (BM / 2) + ty * 4 + m % 4;
        if (i >= M) continue;
        TO* crow = c + (int64_t)i * ldc;
#pragma unroll
        for (int g = 0; g < 2; g++) {
          const int j = j0 + g * (BN / 2) + tx * 4;
          float v[4];
#pragma unroll
          for (int e = 0; e < 4; e++) v[e] = alpha * acc[m][g * 4 + e];
          if (VEC && j + 3 < N) {
            if (beta != 0.0f) {
              float4 old = *reinterpret_cast<const float4*>(crow + j);
              v[0] += beta * old.x; v[1] += beta * old.y; v[2] += beta * old.z; v[3] += beta * old.w;
            }
            if (bias) {
#pragma unroll
              for (int e = 0; e < 4; e++) v[e] += bias[j + e];
            }
            *reinterpret_cast<float4*>(crow + j) = make_float4(v[0], v[1], v[2], v[3]);
          } else {
#pragma unroll
            for (int e = 0; e < 4; e++) {
              if (j + e >= N) break;
              float x = v[e];
              if (beta != 0.0f) x += beta * (float)crow[j + e];
              if (bias) x += bias[j + e];
              crow[j + e] = (TO)x;
            }
          }
        }
      }
    }
}

struct GemmArgs {
  bool ta, tb;
  int M, N, K;
  float alpha;
  const void* A;
  int lda;
  const void* B;
  int ldb;
  float beta;
  void* C;
  int ldc, batch;
  int64_t sa, sb, sc;
  const float* bias;
  bool in_bf16, out_bf16;  // A and B bf16; C bf16
};

// Calls launch(TI{}, TO{}) with the element types of g: (float, float), (bf16, bf16) or (bf16, float).
template <class Launch>
void with_types(const GemmArgs& g, Launch&& launch) {
  if (!g.in_bf16) launch(float{}, float{});
  else if (g.out_bf16) launch(__nv_bfloat16{}, __nv_bfloat16{});
  else launch(__nv_bfloat16{}, float{});
}

template <int BM, int BN, bool TA, bool TB, bool VEC, typename TI, typename TO>
void launch_tile(const GemmArgs& g, cudaStream_t stream) {
  dim3 grid((unsigned)((g.N + BN - 1) / BN), (unsigned)std::min((g.M + BM - 1) / BM, 65535),
            (unsigned)std::min(g.batch, 65535));
  gemm_blocked_kernel<BM, BN, TA, TB, VEC, TI, TO><<<grid, (BM / 8) * (BN / 8), 0, stream>>>(
      g.M, g.N, g.K, g.alpha, static_cast<const TI*>(g.A), g.lda, static_cast<const TI*>(g.B), g.ldb, g.beta,
      static_cast<TO*>(g.C), g.ldc, g.batch, g.sa, g.sb, g.sc, g.bias);
}

template <int BM, int BN, bool VEC, typename TI, typename TO>
void launch_transposes(const GemmArgs& g, cudaStream_t stream) {
  if (g.ta) g.tb ? launch_tile<BM, BN, true, true, VEC, TI, TO>(g, stream) : launch_tile<BM, BN, true, false, VEC, TI, TO>(g, stream);
  else g.tb ? launch_tile<BM, BN, false, true, VEC, TI, TO>(g, stream) : launch_tile<BM, BN, false, false, VEC, TI, TO>(g, stream);
}

template <int BM, int BN>
void launch_blocked(const GemmArgs& g, bool vec, cudaStream_t stream) {
  if (vec) launch_transposes<BM, BN, true, float, float>(g, stream);
  else launch_transposes<BM, BN, false, float, float>(g, stream);
}

template <bool TA, bool TB, typename TO>
void launch_mma_tile(const GemmArgs& g, cudaStream_t stream) {
  using namespace dusa_mma;
  dim3 grid((unsigned)((g.N + BN - 1) / BN), (unsigned)std::min((g.M + BM - 1) / BM, 65535),
            (unsigned)std::min(g.batch, 65535));
  gemm_mma_kernel<TA, TB, TO><<<grid, THREADS, 0, stream>>>(
      g.M, g.N, g.K, g.alpha, static_cast<const __nv_bfloat16*>(g.A), g.lda, static_cast<const __nv_bfloat16*>(g.B),
      g.ldb, g.beta, static_cast<TO*>(g.C), g.ldc, g.batch, g.sa, g.sb, g.sc, g.bias);
}

template <typename TO>
void launch_mma(const GemmArgs& g, cudaStream_t stream) {
  if (g.ta) g.tb ? launch_mma_tile<true, true, TO>(g, stream) : launch_mma_tile<true, false, TO>(g, stream);
  else g.tb ? launch_mma_tile<false, true, TO>(g, stream) : launch_mma_tile<false, false, TO>(g, stream);
}

bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

int gemm_blocked(dusa_ctx* ctx, const GemmArgs& g, const char* op) {
  if (g.in_bf16) {
    if (g.out_bf16) launch_mma<__nv_bfloat16>(g, ctx->stream);
    else launch_mma<float>(g, ctx->stream);
    CHECK_LAUNCH_OP(op);
    return DUSA_OK;
  }
  // float4 paths need fp32 and every row start 16-byte aligned: base pointers, leading dimensions and batch strides
  bool vec = !g.in_bf16 && !g.out_bf16 && aligned16(g.A) && aligned16(g.B) && aligned16(g.C) && g.lda % 4 == 0 &&
             g.ldb % 4 == 0 && g.ldc % 4 == 0 && (g.batch == 1 || (g.sa % 4 == 0 && g.sb % 4 == 0 && g.sc % 4 == 0));
  // big tiles when they alone fill the GPU, else 64x64 tiles (64 threads) for more blocks
  int64_t big_tiles = (int64_t)((g.M + 127) / 128) * ((g.N + 127) / 128) * g.batch;
  if (big_tiles >= ctx->sm_count) launch_blocked<128, 128>(g, vec, ctx->stream);
  else launch_blocked<64, 64>(g, vec, ctx->stream);
  CHECK_LAUNCH_OP(op);
  return DUSA_OK;
}

int gemm_naive(dusa_ctx* ctx, const GemmArgs& g, const char* op) {
  uint64_t total = (uint64_t)g.batch * g.M * g.N;
  with_types(g, [&](auto ti, auto to) {
    using TI = decltype(ti);
    using TO = decltype(to);
    gemm_naive_kernel<<<dusa::capped_blocks(total, 256), 256, 0, ctx->stream>>>(
        g.ta, g.tb, g.M, g.N, g.K, g.alpha, static_cast<const TI*>(g.A), g.lda, static_cast<const TI*>(g.B), g.ldb,
        g.beta, static_cast<TO*>(g.C), g.ldc, g.batch, g.sa, g.sb, g.sc, g.bias);
  });
  CHECK_LAUNCH_OP(op);
  return DUSA_OK;
}

// ---------------------------------------------------------------------------------------------
// BLAS: cuBLASLt through dlopen. The types and enum values below are the documented ABI of cublasLt.h / cublas_api.h /
// library_types.h (stable across CUDA 11-13); enums are passed as int.

enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
  CUBLAS_COMPUTE_32F = 68,  // true fp32 (CUBLAS_COMPUTE_32F_FAST_TF32 = 77 is what we must not use)
  CUDA_R_32F = 0,
  CUDA_R_16BF = 14,
  CUBLASLT_MATMUL_DESC_TRANSA = 3,        // int32_t
  CUBLASLT_MATMUL_DESC_TRANSB = 4,        // int32_t
  CUBLASLT_MATMUL_DESC_EPILOGUE = 7,      // uint32_t
  CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,  // const void*
  CUBLASLT_EPILOGUE_BIAS = 4,             // bias vector over D's rows (our columns), broadcast over D's columns
  CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,           // int32_t
  CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,  // int64_t
  CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,     // uint64_t
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,   // uint32_t (B..D follow: 6, 7, 8)
};

struct LtAlgo {
  uint64_t data[8];
};
struct LtHeuristicResult {
  LtAlgo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

struct LtApi {
  void* lib = nullptr;
  std::string path;
  int (*create)(void** handle) = nullptr;
  int (*destroy)(void* handle) = nullptr;
  int (*desc_create)(void** desc, int compute_type, int scale_type) = nullptr;
  int (*desc_destroy)(void* desc) = nullptr;
  int (*desc_set)(void* desc, int attr, const void* buf, size_t bytes) = nullptr;
  int (*layout_create)(void** layout, int type, uint64_t rows, uint64_t cols, int64_t ld) = nullptr;
  int (*layout_destroy)(void* layout) = nullptr;
  int (*layout_set)(void* layout, int attr, const void* buf, size_t bytes) = nullptr;
  int (*pref_create)(void** pref) = nullptr;
  int (*pref_destroy)(void* pref) = nullptr;
  int (*pref_set)(void* pref, int attr, const void* buf, size_t bytes) = nullptr;
  int (*heuristic)(void* handle, void* desc, void* a, void* b, void* c, void* d, void* pref, int requested,
                   LtHeuristicResult* results, int* found) = nullptr;
  int (*matmul)(void* handle, void* desc, const void* alpha, const void* A, void* a_layout, const void* B,
                void* b_layout, const void* beta, const void* C, void* c_layout, void* D, void* d_layout,
                const LtAlgo* algo, void* workspace, size_t workspace_bytes, cudaStream_t stream) = nullptr;
  const char* (*status_name)(int status) = nullptr;  // optional
  size_t (*cudart_version)(void) = nullptr;           // optional
};

template <typename F>
bool resolve(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  return *out != nullptr;
}

bool try_open(const std::string& path, LtApi* api) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return false;
  bool ok = resolve(lib, "cublasLtCreate", &api->create) && resolve(lib, "cublasLtDestroy", &api->destroy) &&
            resolve(lib, "cublasLtMatmulDescCreate", &api->desc_create) &&
            resolve(lib, "cublasLtMatmulDescDestroy", &api->desc_destroy) &&
            resolve(lib, "cublasLtMatmulDescSetAttribute", &api->desc_set) &&
            resolve(lib, "cublasLtMatrixLayoutCreate", &api->layout_create) &&
            resolve(lib, "cublasLtMatrixLayoutDestroy", &api->layout_destroy) &&
            resolve(lib, "cublasLtMatrixLayoutSetAttribute", &api->layout_set) &&
            resolve(lib, "cublasLtMatmulPreferenceCreate", &api->pref_create) &&
            resolve(lib, "cublasLtMatmulPreferenceDestroy", &api->pref_destroy) &&
            resolve(lib, "cublasLtMatmulPreferenceSetAttribute", &api->pref_set) &&
            resolve(lib, "cublasLtMatmulAlgoGetHeuristic", &api->heuristic) &&
            resolve(lib, "cublasLtMatmul", &api->matmul);
  if (ok) {
    resolve(lib, "cublasLtGetStatusName", &api->status_name);
    resolve(lib, "cublasLtGetCudartVersion", &api->cudart_version);
    // a cuBLASLt built for a newer CUDA than the driver supports cannot create a handle: look further
    int driver = 0;
    if (api->cudart_version && cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0 &&
        (size_t)driver / 1000 < api->cudart_version() / 1000)
      ok = false;
  }
  if (!ok) {
    dlclose(lib);
    return false;
  }
  api->lib = lib;
  api->path = path;
  return true;
}

// Every match of a glob pattern, newest (last in sorted order) first.
void glob_into(const std::string& pattern, std::vector<std::string>* out) {
  glob_t g;
  std::memset(&g, 0, sizeof(g));
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = g.gl_pathc; i-- > 0;) out->push_back(g.gl_pathv[i]);
    globfree(&g);
  }
}

LtApi load_lt() {
  LtApi api;
  const char* env = std::getenv("DUSA_CUBLASLT");
  if (env && *env && try_open(env, &api)) return api;
  for (const char* name : {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"})
    if (try_open(name, &api)) return api;
  // pip's nvidia-cublas wheels (cu12: nvidia/cublas/lib, cu13: nvidia/cu13/lib), the CUDA toolkit, then the
  // prefix of each python3 on PATH (a virtual environment's bin/python3 -> its lib/python3*/site-packages)
  std::vector<std::string> prefixes = {"/usr/lib/python3*", "/usr/local/lib/python3*", "/opt/*/.venv/lib/python3*"};
  if (const char* venv = std::getenv("VIRTUAL_ENV")) prefixes.push_back(std::string(venv) + "/lib/python3*");
  if (const char* home = std::getenv("HOME")) prefixes.push_back(std::string(home) + "/.local/lib/python3*");
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string dir = dirs.substr(start, end - start);
      if (!dir.empty() && access((dir + "/python3").c_str(), X_OK) == 0) prefixes.push_back(dir + "/../lib/python3*");
      start = end + 1;
    }
  }
  std::vector<std::string> candidates;
  for (const std::string& prefix : prefixes)
    for (const char* sub : {"/site-packages", "/dist-packages"})
      for (const char* lib : {"/nvidia/cu13/lib/libcublasLt.so.*", "/nvidia/cublas/lib/libcublasLt.so.*"})
        glob_into(prefix + sub + lib, &candidates);
  glob_into("/usr/local/cuda/lib64/libcublasLt.so.*", &candidates);
  glob_into("/usr/local/cuda-*/lib64/libcublasLt.so.*", &candidates);
  for (const std::string& path : candidates)
    if (try_open(path, &api)) return api;
  return api;
}

const LtApi* lt_api() {
  static const LtApi api = [] {  // once per process, thread-safe; nothing may throw through the C ABI
    try {
      return load_lt();
    } catch (...) {
      return LtApi();
    }
  }();
  return api.lib ? &api : nullptr;
}

constexpr size_t kLtWorkspaceBytes = 4 << 20;

// Per-context state hung on ctx->blaslt.
struct BlasLt {
  const LtApi* api = nullptr;
  void* handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  int create_status = 0;  // nonzero: cublasLtCreate failed on this context's device
};

// The context's cuBLASLt state (created on first use), or nullptr when the library is absent.
BlasLt* blaslt_state(dusa_ctx* ctx) {
  if (ctx->blaslt) return static_cast<BlasLt*>(ctx->blaslt);
  if (ctx->capturing) return nullptr;  // not created inside a graph (dusa_graph_begin prepares it): our GEMM there
  const LtApi* api = lt_api();
  if (!api) return nullptr;
  BlasLt* lt = new (std::nothrow) BlasLt();
  if (!lt) return nullptr;
  lt->api = api;
  lt->create_status = api->create(&lt->handle);
  if (lt->create_status == CUBLAS_STATUS_SUCCESS) {
    void* p = nullptr;  // tagged as workspace; without it (memory limit) cuBLASLt picks workspace-free algorithms
    if (dusa::allocate(ctx, &p, kLtWorkspaceBytes, DUSA_TAG_WORKSPACE) == DUSA_OK) {
      lt->workspace = p;
      lt->workspace_bytes = kLtWorkspaceBytes;
    }
  } else {
    lt->handle = nullptr;
  }
  ctx->blaslt = lt;
  return lt;
}

const char* lt_status_name(const BlasLt* lt, int status) {
  const char* name = lt->api->status_name ? lt->api->status_name(status) : nullptr;
  return name ? name : "?";
}

// Largest power of two (<= 256) dividing the byte address of every row and batch of a matrix.
uint32_t alignment(const void* p, int ld, int64_t stride, int batch, uint64_t element) {
  uint64_t bits = (uint64_t)(uintptr_t)p | (uint64_t)ld * element | (batch > 1 ? (uint64_t)stride * element : 0);
  uint32_t a = 256;
  while (a > 1 && (bits & (a - 1))) a >>= 1;
  return a;
}

constexpr int kNoAlgorithm = -1;

// One cuBLASLt matmul; the bias epilogue when bias is given. Returns DUSA_OK, kNoAlgorithm (nothing set) or an error.
int lt_matmul(dusa_ctx* ctx, BlasLt* lt, const GemmArgs& g, const float* bias, const char* op) {
  const LtApi& f = *lt->api;
  // cuBLASLt is column-major, where our row-major C (M, N) is C^T (N, M) = op(B)^T op(A)^T: its first operand "X" is
  // our B, seen as (N, K) column-major when !tb, and its second operand "Y" is our A, seen as (K, M) when !ta.
  int op_x = g.tb ? CUBLAS_OP_T : CUBLAS_OP_N, op_y = g.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  uint64_t x_rows = g.tb ? g.K : g.N, x_cols = g.tb ? g.N : g.K;
  uint64_t y_rows = g.ta ? g.M : g.K, y_cols = g.ta ? g.K : g.M;
  void *desc = nullptr, *lx = nullptr, *ly = nullptr, *lc = nullptr, *pref = nullptr;
  int st = CUBLAS_STATUS_SUCCESS, found = 0;
  const char* what = "";
  LtHeuristicResult result;
  std::memset(&result, 0, sizeof(result));
  auto step = [&](int status, const char* name) {
    if (st == CUBLAS_STATUS_SUCCESS) {
      st = status;
      what = name;
    }
  };
  auto set_batch = [&](void* layout, int64_t stride) {
    if (g.batch == 1) return;
    int32_t count = g.batch;
    step(f.layout_set(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)), "MatrixLayoutSetAttribute");
    step(f.layout_set(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
         "MatrixLayoutSetAttribute");
  };

  step(f.desc_create(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
  if (st == CUBLAS_STATUS_SUCCESS) {
    step(f.desc_set(desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_x, sizeof(op_x)), "MatmulDescSetAttribute(TRANSA)");
    step(f.desc_set(desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_y, sizeof(op_y)), "MatmulDescSetAttribute(TRANSB)");
    if (bias) {
      uint32_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      step(f.desc_set(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)), "MatmulDescSetAttribute(EPILOGUE)");
      step(f.desc_set(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), "MatmulDescSetAttribute(BIAS_POINTER)");
    }
  }
  const int in_type = g.in_bf16 ? CUDA_R_16BF : CUDA_R_32F, out_type = g.out_bf16 ? CUDA_R_16BF : CUDA_R_32F;
  const uint64_t in_bytes = g.in_bf16 ? 2 : 4, out_bytes = g.out_bf16 ? 2 : 4;
  step(f.layout_create(&lx, in_type, x_rows, x_cols, g.ldb), "MatrixLayoutCreate");
  step(f.layout_create(&ly, in_type, y_rows, y_cols, g.lda), "MatrixLayoutCreate");
  step(f.layout_create(&lc, out_type, (uint64_t)g.N, (uint64_t)g.M, g.ldc), "MatrixLayoutCreate");
  if (st == CUBLAS_STATUS_SUCCESS) {
    set_batch(lx, g.sb);
    set_batch(ly, g.sa);
    set_batch(lc, g.sc);
  }
  step(f.pref_create(&pref), "MatmulPreferenceCreate");
  if (st == CUBLAS_STATUS_SUCCESS) {
    uint64_t ws = lt->workspace_bytes;
    uint32_t align[4] = {alignment(g.B, g.ldb, g.sb, g.batch, in_bytes), alignment(g.A, g.lda, g.sa, g.batch, in_bytes),
                         alignment(g.C, g.ldc, g.sc, g.batch, out_bytes), alignment(g.C, g.ldc, g.sc, g.batch, out_bytes)};
    step(f.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)), "MatmulPreferenceSetAttribute");
    for (int m = 0; m < 4; m++)
      step(f.pref_set(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + m, &align[m], sizeof(align[m])),
           "MatmulPreferenceSetAttribute");
  }
  if (st == CUBLAS_STATUS_SUCCESS)
    step(f.heuristic(lt->handle, desc, lx, ly, lc, lc, pref, 1, &result, &found), "MatmulAlgoGetHeuristic");
  bool no_algorithm = st == CUBLAS_STATUS_SUCCESS && found == 0;
  if (st == CUBLAS_STATUS_SUCCESS && found > 0)
    step(f.matmul(lt->handle, desc, &g.alpha, g.B, lx, g.A, ly, &g.beta, g.C, lc, g.C, lc, &result.algo,
                  lt->workspace, lt->workspace_bytes, ctx->stream),
         "Matmul");
  if (pref) f.pref_destroy(pref);
  if (lc) f.layout_destroy(lc);
  if (ly) f.layout_destroy(ly);
  if (lx) f.layout_destroy(lx);
  if (desc) f.desc_destroy(desc);
  if (no_algorithm) return kNoAlgorithm;
  if (st != CUBLAS_STATUS_SUCCESS)
    return dusa::fail(DUSA_ERR_BACKEND, "%s: cuBLASLt %s failed with status %d (%s) for a %dx%dx%d GEMM", op, what,
                      st, lt_status_name(lt, st), g.M, g.N, g.K);
  return DUSA_OK;
}

int gemm_blas(dusa_ctx* ctx, BlasLt* lt, const GemmArgs& g, const char* op) {
  if (!lt->handle)
    return dusa::fail(DUSA_ERR_BACKEND, "%s: cuBLASLt (%s) could not create a handle: status %d (%s)", op,
                      lt->api->path.c_str(), lt->create_status, lt_status_name(lt, lt->create_status));
  // the bias epilogue for a single fp32-output GEMM (its bias type follows the output's); else a separate bias pass
  bool fused = g.bias && g.batch == 1 && !g.out_bf16;
  int s = lt_matmul(ctx, lt, g, fused ? g.bias : nullptr, op);
  if (s == kNoAlgorithm && fused) {
    fused = false;
    s = lt_matmul(ctx, lt, g, nullptr, op);
  }
  if (s == kNoAlgorithm)
    return dusa::fail(DUSA_ERR_BACKEND, "%s: cuBLASLt offers no algorithm for a %dx%dx%d GEMM (ta=%d tb=%d batch=%d)",
                      op, g.M, g.N, g.K, (int)g.ta, (int)g.tb, g.batch);
  if (s != DUSA_OK) return s;
  if (g.bias && !fused) {
    auto add = [&](auto* c) {
      bias_add_kernel<<<dusa::capped_blocks((uint64_t)g.batch * g.M * g.N, 256), 256, 0, ctx->stream>>>(
          c, g.ldc, g.sc, g.M, g.N, g.batch, g.bias);
    };
    if (g.out_bf16) add(static_cast<__nv_bfloat16*>(g.C));
    else add(static_cast<float*>(g.C));
    CHECK_LAUNCH_OP(op);
  }
  return DUSA_OK;
}

}  // namespace

namespace dusa {

void blaslt_prepare(dusa_ctx* ctx) {
  if (!ctx->reference && (ctx->gemm_path == DUSA_GEMM_AUTO || ctx->gemm_path == DUSA_GEMM_BLAS)) blaslt_state(ctx);
}

void blaslt_destroy(dusa_ctx* ctx) {
  BlasLt* lt = static_cast<BlasLt*>(ctx->blaslt);
  if (!lt) return;
  if (lt->handle) lt->api->destroy(lt->handle);
  if (lt->workspace) release(ctx, lt->workspace);
  delete lt;
  ctx->blaslt = nullptr;
}

int gemm(dusa_ctx* ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
         const float* B, int ldb, float beta, float* C, int ldc, int batch, int64_t stride_a, int64_t stride_b,
         int64_t stride_c, const char* op, const float* bias, int in_dtype, int out_dtype) {
  if (M <= 0 || N <= 0 || batch <= 0) return DUSA_OK;
  if (in_dtype == DUSA_DTYPE_F32 && out_dtype == DUSA_DTYPE_BF16)
    return fail(DUSA_ERR_UNSUPPORTED, "%s: an fp32 x fp32 GEMM into bf16 is not a combination the ops use", op);
  GemmArgs g{trans_a, trans_b, M, N, std::max(K, 0), alpha, A, lda, B, ldb, beta, C, ldc, batch,
             stride_a, stride_b, stride_c, bias, in_dtype == DUSA_DTYPE_BF16, out_dtype == DUSA_DTYPE_BF16};
  int path = ctx->reference ? DUSA_GEMM_NAIVE : ctx->gemm_path;
  BlasLt* lt = nullptr;
  if (path == DUSA_GEMM_AUTO || path == DUSA_GEMM_BLAS) {
    lt = blaslt_state(ctx);
    if (path == DUSA_GEMM_BLAS && !lt)
      return fail(DUSA_ERR_BACKEND, "%s: the BLAS GEMM path needs cuBLASLt, which could not be loaded", op);
    if (path == DUSA_GEMM_AUTO) path = lt && lt->handle ? DUSA_GEMM_BLAS : DUSA_GEMM_BLOCKED;
  }
  if (g.K == 0) path = DUSA_GEMM_NAIVE;  // no products: C = beta C + bias
  if (path == DUSA_GEMM_NAIVE) return gemm_naive(ctx, g, op);
  if (path == DUSA_GEMM_BLAS) return gemm_blas(ctx, lt, g, op);
  return gemm_blocked(ctx, g, op);
}

}  // namespace dusa

extern "C" {

int dusa_has_blas(void) { return lt_api() ? 1 : 0; }

int dusa_matmul(dusa_ctx* ctx, float* C, const float* A, const float* B, int M, int N, int K, int trans_a, int trans_b,
                float alpha, float beta) {
  DUSA_OP(ctx);
  CHECK_PTR(C); CHECK_PTR(A); CHECK_PTR(B);
  CHECK_POS(M); CHECK_POS(N); CHECK_POS(K);
  return dusa::gemm(ctx, trans_a, trans_b, M, N, K, alpha, A, trans_a ? M : K, B, trans_b ? K : N, beta, C, N, 1, 0,
                    0, 0, __func__, nullptr, ctx->storage, ctx->storage);
}

int dusa_matmul_batched(dusa_ctx* ctx, float* C, const float* A, const float* B, int batch, int M, int N, int K,
                        int trans_a, int trans_b, float alpha, float beta, int64_t stride_a, int64_t stride_b,
                        int64_t stride_c) {
  DUSA_OP(ctx);
  CHECK_PTR(C); CHECK_PTR(A); CHECK_PTR(B);
  CHECK_POS(batch); CHECK_POS(M); CHECK_POS(N); CHECK_POS(K);
  CHECK_NONNEG(stride_a); CHECK_NONNEG(stride_b);
  CHECK_ARG(stride_c >= (int64_t)M * N || batch == 1, "%s: stride_c %lld is smaller than M*N = %lld (outputs overlap)",
            __func__, (long long)stride_c, (long long)M * N);
  return dusa::gemm(ctx, trans_a, trans_b, M, N, K, alpha, A, trans_a ? M : K, B, trans_b ? K : N, beta, C, N, batch,
                    stride_a, stride_b, stride_c, __func__, nullptr, ctx->storage, ctx->storage);
}

}  // extern "C"
