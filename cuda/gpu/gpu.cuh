// gpu.cuh — internals shared by the CUDA backend's op files: the context, launch checking, the per-op profiler
// scope and the Philox generator (bit-identical to the CPU backend's); errors, argument checks, accounting and the
// workspace come from core.h, as on the CPU backend.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "core.h"
#include "philox.h"

namespace dusa {
// An argument check that reads device data, recorded into a graph: during each replay its first failing element
// goes to the context's guard word, and dusa_graph_launch turns it into the message the eager check would give.
struct GraphCheck {
  enum Kind { kIdRange, kNonFinite } kind;
  const char* op;
  const char* what;      // the argument: "idx", "ids", "labels", "normed", "logits"
  const int32_t* ids;    // kIdRange: the ids (read back for the message)
  int bound;             // kIdRange: ids must be in [0, bound)
  int row;               // elements per row in the message (1: element index)
};
}  // namespace dusa

// gemm_path: BLAS = cuBLASLt, BLOCKED = our tiled kernel, NAIVE = one thread per output.
struct dusa_ctx : dusa::Core {
  int device = 0;
  cudaStream_t stream = nullptr;
  int sm_count = 0;
  float* device_scalars = nullptr;  // 64 floats on the device for scalar outputs bound for host memory
  void* blaslt = nullptr;           // cuBLASLt state (gemm.cu), null when the library is absent
  unsigned long long* guard = nullptr;         // device word: (check << 40) | element of a replay's first failed check
  std::vector<dusa::GraphCheck> graph_checks;  // the checks of the graph being recorded
  std::vector<struct dusa_graph*> graphs;      // live graphs (destroyed with the context)
  std::thread::id capture_thread;              // the thread recording (CUDA captures belong to a thread)
};

namespace dusa {

// Turns a CUDA error into a status naming the op (DUSA_ERR_OOM for allocation failures).
int cuda_fail(cudaError_t err, const char* op, const char* what);

// Scalar outputs (dusa_flow_loss's terms, the losses of cross_entropy/entropy, dusa_l2_norm, dusa_all_finite)
// may be host arrays: the TS side passes small Float32Arrays for them on every backend. An op writes such an
// output through scalar_target() (the pointer itself when it is device memory, else ctx->device_scalars) and then
// calls scalar_finish(), which copies the values to the host pointer and waits for them.
constexpr int kMaxScalars = 64;
bool is_device_pointer(const void* p);
// Whether [p, p + bytes) lies inside one of the context's allocations (views included).
bool owns(const dusa_ctx* ctx, const void* p, uint64_t bytes);
void* scalar_target(dusa_ctx* ctx, void* out);
int scalar_finish(dusa_ctx* ctx, void* out, uint64_t bytes, const char* op);

// While a graph is recorded, a host round trip (allocation, copy to or from the host, sync) is an error naming `op`.
int refuse_while_capturing(const dusa_ctx* ctx, const char* op, const char* what);
// Destroys every live graph of the context (graph.cu).
void graphs_destroy(dusa_ctx* ctx);
// Creates the context's cuBLASLt state now if its GEMM path may use it (gemm.cu): never inside a recording.
void blaslt_prepare(dusa_ctx* ctx);

// Times one public entry point when the context is profiling (synchronises the stream at both ends; not while
// a graph is recorded).
struct OpScope {
  dusa_ctx* ctx;
  const char* name;
  bool active;
  double start = 0;
  OpScope(dusa_ctx* c, const char* n);
  ~OpScope();
};

inline unsigned blocks_for(uint64_t n, unsigned threads) { return (unsigned)((n + threads - 1) / threads); }

// Grid-stride loops cap the grid; this is enough blocks to fill any current GPU.
inline unsigned capped_blocks(uint64_t n, unsigned threads) {
  uint64_t b = (n + threads - 1) / threads;
  return (unsigned)(b < 65535 * 8 ? (b ? b : 1) : 65535 * 8);
}

// Runs launch(T{}) (and returns what it returns) with T the context's storage type of dusa_act arguments: float, or __nv_bfloat16 in bf16
// storage (the kernels load it, compute in float and store it rounded to nearest even).
template <class Launch>
auto with_storage(const dusa_ctx* ctx, Launch&& launch) {
  if (ctx->storage == DUSA_DTYPE_BF16) return launch(__nv_bfloat16{});
  return launch(float{});
}

// A dusa_act pointer as the storage type chosen by with_storage.
template <class T>
T* act(float* p) { return reinterpret_cast<T*>(p); }
template <class T>
const T* act(const float* p) { return reinterpret_cast<const T*>(p); }

}  // namespace dusa

// Start of every public op: null context check, device selection and profiler scope.
#define DUSA_OP(ctx)                                                                   \
  if (!(ctx)) return dusa::fail(DUSA_ERR_INVALID, "%s: context is null", __func__);  \
  cudaSetDevice((ctx)->device);                                                        \
  dusa::OpScope dusa_op_scope_((ctx), __func__)

// A grid-stride loop over [0, n): each thread takes i, i + gridDim.x * blockDim.x, ...
#define GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (int64_t)(n); i += (int64_t)gridDim.x * blockDim.x)

// After every kernel launch: a launch error (bad configuration, too much shared memory) becomes a status.
#define CHECK_LAUNCH()                                                                   \
  do {                                                                                   \
    cudaError_t launch_err_ = cudaGetLastError();                                        \
    if (launch_err_ != cudaSuccess) return dusa::cuda_fail(launch_err_, __func__, "kernel launch"); \
  } while (0)

// Any CUDA runtime call inside an op.
#define CHECK_CUDA(call)                                                     \
  do {                                                                       \
    cudaError_t cuda_err_ = (call);                                          \
    if (cuda_err_ != cudaSuccess) return dusa::cuda_fail(cuda_err_, __func__, #call); \
  } while (0)
