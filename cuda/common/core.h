// core.h — what every backend shares: the last error, the argument checks, and the context's bookkeeping
// (tagged memory accounting under a limit, the per-op profiler, the workspace). A backend supplies only how
// memory is obtained and freed (allocate/release) and how an op is timed (its OpScope).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "dusa.h"

namespace dusa {

// Records the message as the thread's last error and returns code.
int fail(int code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The first failure of a span of calls (a graph being recorded on this thread): its status and message.
struct FirstFailure {
  int code = DUSA_OK;
  std::string message;
};
// While set, the thread's first failure is also kept in *first; nullptr stops. The previous target is returned.
FirstFailure* keep_first_failure(FirstFailure* first);

const char* tag_name(int tag);

// The backend-independent part of a context; each backend's dusa_ctx derives from it.
struct Core {
  int reference = 0;               // the simplest kernels (CPU: the test oracle)
  int gemm_path = DUSA_GEMM_AUTO;  // DUSA_GEMM_*: what each backend means by BLAS, BLOCKED and NAIVE
  int storage = DUSA_DTYPE_F32;    // DUSA_DTYPE_*: what the ops' dusa_act arguments hold
  uint64_t memory_limit = 0;       // 0 = none
  uint64_t current[DUSA_TAG_COUNT] = {};
  uint64_t peak[DUSA_TAG_COUNT] = {};
  std::unordered_map<void*, std::pair<uint64_t, int>> allocations;  // ptr -> (bytes, tag)
  float* workspace = nullptr;
  uint64_t workspace_floats = 0;
  bool profiling = false;
  bool capturing = false;          // a graph is being recorded (CUDA): no allocation, no host round trip
  FirstFailure capture_failure;    // the first error of the recording, if any (dusa_graph_end returns it)
  int live_graphs = 0;             // recorded graphs not yet destroyed: they hold the workspace's address
  std::vector<void*> retired_workspaces;  // workspaces replaced while graphs were alive (freed with the last one)
  std::vector<std::string> profile_names;
  std::vector<uint64_t> profile_calls;
  std::vector<double> profile_seconds;
  std::unordered_map<std::string, int> profile_index;

  // DUSA_ERR_OOM (message set) when `bytes` more of `tag` would pass the memory limit.
  int admit(uint64_t bytes, int tag) const;
  // Counts a fresh allocation; DUSA_ERR_OOM when the record itself cannot be stored (the caller frees p).
  int record(void* p, uint64_t bytes, int tag);
  // Uncounts an allocation; DUSA_ERR_INVALID when p is not one of this context's.
  int forget(void* p);
  void profile_add(const char* name, double seconds);
};

// Defined by each backend: its context as a Core, and how memory is obtained and returned.
Core* core(dusa_ctx* ctx);
int allocate(dusa_ctx* ctx, void** out, uint64_t bytes, int tag);
int release(dusa_ctx* ctx, void* ptr);

// Grows the context's workspace (tag workspace) to at least `floats`; nullptr (error set) on OOM.
float* workspace(dusa_ctx* ctx, uint64_t floats);

}  // namespace dusa

// Start of a context-control function (not an op): null context check, not profiled.
#define DUSA_CTX(ctx) \
  if (!(ctx)) return dusa::fail(DUSA_ERR_INVALID, "%s: context is null", __func__)

#define CHECK_PTR(p) \
  if (!(p)) return dusa::fail(DUSA_ERR_INVALID, "%s: %s is null", __func__, #p)

#define CHECK_POS(x)                                                                               \
  if ((x) <= 0)                                                                                    \
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s must be > 0, got %lld", __func__, #x, (long long)(x))

#define CHECK_NONNEG(x)                                                                             \
  if ((x) < 0)                                                                                      \
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s must be >= 0, got %lld", __func__, #x, (long long)(x))

#define CHECK_ARG(cond, ...) \
  if (!(cond)) return dusa::fail(DUSA_ERR_INVALID, __VA_ARGS__)
