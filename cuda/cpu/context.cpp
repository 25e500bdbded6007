// context.cpp — contexts, the last error, tagged memory (the memory profiler), copies, fills, profiler.
#include "cpu.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {
thread_local char last_error[1024] = "";
const char* tag_names[DUSA_TAG_COUNT] = {"param", "grad", "optim", "act", "workspace", "data"};
}  // namespace

namespace dusa {

int fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof(last_error), fmt, args);
  va_end(args);
  return code;
}

int allocate(dusa_ctx* ctx, void** out, uint64_t bytes, int tag) {
  uint64_t total = 0;
  for (uint64_t c : ctx->current) total += c;
  if (ctx->memory_limit && total + bytes > ctx->memory_limit)
    return fail(DUSA_ERR_OOM, "dusa_alloc: %llu bytes (%s) would pass the memory limit of %llu bytes (%llu in use)",
                (unsigned long long)bytes, tag_names[tag], (unsigned long long)ctx->memory_limit,
                (unsigned long long)total);
  uint64_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return fail(DUSA_ERR_OOM, "dusa_alloc: out of memory allocating %llu bytes (%s)",
                      (unsigned long long)bytes, tag_names[tag]);
  try {
    ctx->allocations[p] = {bytes, tag};
  } catch (const std::bad_alloc&) {
    std::free(p);
    return fail(DUSA_ERR_OOM, "dusa_alloc: out of memory recording an allocation");
  }
  ctx->current[tag] += bytes;
  if (ctx->current[tag] > ctx->peak[tag]) ctx->peak[tag] = ctx->current[tag];
  *out = p;
  return DUSA_OK;
}

int release(dusa_ctx* ctx, void* ptr) {
  auto it = ctx->allocations.find(ptr);
  if (it == ctx->allocations.end())
    return fail(DUSA_ERR_INVALID, "dusa_free: %p was not allocated by this context (double free?)", ptr);
  ctx->current[it->second.second] -= it->second.first;
  ctx->allocations.erase(it);
  std::free(ptr);
  return DUSA_OK;
}

float* workspace(dusa_ctx* ctx, uint64_t floats) {
  if (floats <= ctx->workspace_floats) return ctx->workspace;
  if (ctx->workspace) release(ctx, ctx->workspace);
  ctx->workspace = nullptr;
  ctx->workspace_floats = 0;
  void* p = nullptr;
  if (allocate(ctx, &p, floats * sizeof(float), DUSA_TAG_WORKSPACE) != DUSA_OK) return nullptr;
  ctx->workspace = static_cast<float*>(p);
  ctx->workspace_floats = floats;
  return ctx->workspace;
}

OpScope::~OpScope() {
  if (!active || !ctx->profiling) return;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  try {
    auto it = ctx->profile_index.find(name);
    int index;
    if (it == ctx->profile_index.end()) {
      index = (int)ctx->profile_names.size();
      ctx->profile_index[name] = index;
      ctx->profile_names.push_back(name);
      ctx->profile_calls.push_back(0);
      ctx->profile_seconds.push_back(0.0);
    } else {
      index = it->second;
    }
    ctx->profile_calls[index] += 1;
    ctx->profile_seconds[index] += seconds;
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace dusa

extern "C" {

const char* dusa_last_error(void) { return last_error; }

const char* dusa_build_info(void) {
  static char info[256];
  snprintf(info, sizeof(info), "dusa cpu backend; gemm=%s; openmp=%d; compiler=%s",
           dusa::blas_available() ? "blas" : "blocked", _OPENMP, __VERSION__);
  return info;
}

int dusa_has_blas(void) { return dusa::blas_available() ? 1 : 0; }

int dusa_ctx_create(dusa_ctx** out, const char* backend, int device) {
  CHECK_PTR(out);
  CHECK_PTR(backend);
  if (std::strcmp(backend, "cpu") != 0)
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_create: this library is the cpu backend, not '%s'", backend);
  if (device != 0) return dusa::fail(DUSA_ERR_INVALID, "dusa_ctx_create: the cpu backend has only device 0, not %d", device);
  dusa_ctx* ctx = new (std::nothrow) dusa_ctx();
  if (!ctx) return dusa::fail(DUSA_ERR_OOM, "dusa_ctx_create: out of memory");
  ctx->threads = omp_get_max_threads();
  *out = ctx;
  return DUSA_OK;
}

int dusa_ctx_destroy(dusa_ctx* ctx) {
  CHECK_PTR(ctx);
  for (auto& entry : ctx->allocations) std::free(entry.first);
  delete ctx;
  return DUSA_OK;
}

int dusa_ctx_set_threads(dusa_ctx* ctx, int threads) {
  DUSA_CTX(ctx);
  CHECK_POS(threads);
  ctx->threads = threads;
  return DUSA_OK;
}

int dusa_ctx_get_threads(dusa_ctx* ctx, int* out) {
  DUSA_CTX(ctx);
  CHECK_PTR(out);
  *out = ctx->threads;
  return DUSA_OK;
}

int dusa_ctx_set_reference(dusa_ctx* ctx, int reference) {
  DUSA_CTX(ctx);
  ctx->reference = reference != 0;
  return DUSA_OK;
}

int dusa_ctx_set_gemm_path(dusa_ctx* ctx, int path) {
  DUSA_CTX(ctx);
  CHECK_ARG(path >= DUSA_GEMM_AUTO && path <= DUSA_GEMM_NAIVE, "dusa_ctx_set_gemm_path: unknown path %d", path);
  if (path == DUSA_GEMM_BLAS && !dusa::blas_available())
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_set_gemm_path: this build has no BLAS");
  ctx->gemm_path = path;
  return DUSA_OK;
}

int dusa_ctx_set_memory_limit(dusa_ctx* ctx, uint64_t bytes) {
  DUSA_CTX(ctx);
  ctx->memory_limit = bytes;
  return DUSA_OK;
}

int dusa_sync(dusa_ctx* ctx) {
  DUSA_OP(ctx);
  return DUSA_OK;
}

int dusa_alloc(dusa_ctx* ctx, void** out, uint64_t bytes, int tag) {
  DUSA_OP(ctx);
  CHECK_PTR(out);
  CHECK_POS(bytes);
  CHECK_ARG(tag >= 0 && tag < DUSA_TAG_COUNT, "dusa_alloc: unknown tag %d", tag);
  *out = nullptr;
  return dusa::allocate(ctx, out, bytes, tag);
}

int dusa_free(dusa_ctx* ctx, void* ptr) {
  DUSA_OP(ctx);
  CHECK_PTR(ptr);
  if (ptr == ctx->workspace) return dusa::fail(DUSA_ERR_INVALID, "dusa_free: the workspace belongs to the context");
  return dusa::release(ctx, ptr);
}

int dusa_memory_stats(dusa_ctx* ctx, int tag, uint64_t* current, uint64_t* peak) {
  DUSA_CTX(ctx);
  CHECK_ARG(tag >= 0 && tag < DUSA_TAG_COUNT, "dusa_memory_stats: unknown tag %d", tag);
  if (current) *current = ctx->current[tag];
  if (peak) *peak = ctx->peak[tag];
  return DUSA_OK;
}

int dusa_memory_reset_peak(dusa_ctx* ctx) {
  DUSA_CTX(ctx);
  for (int t = 0; t < DUSA_TAG_COUNT; t++) ctx->peak[t] = ctx->current[t];
  return DUSA_OK;
}

static int copy_bytes(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes, const char* op) {
  if (!dst || !src) return dusa::fail(DUSA_ERR_INVALID, "%s: %s is null", op, dst ? "src" : "dst");
  if (bytes == 0) return DUSA_OK;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  bool overlap = s < d + bytes && d < s + bytes;
  const uint64_t chunk = 1 << 20;
  if (overlap || bytes < 4 * chunk || ctx->threads == 1) {
    std::memmove(dst, src, bytes);
    return DUSA_OK;
  }
  int64_t chunks = (int64_t)((bytes + chunk - 1) / chunk);
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    uint64_t begin = (uint64_t)c * chunk, size = begin + chunk < bytes ? chunk : bytes - begin;
    std::memcpy(d + begin, s + begin, size);
  }
  return DUSA_OK;
}

int dusa_copy_h2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  return copy_bytes(ctx, dst, src, bytes, __func__);
}
int dusa_copy_d2h(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  return copy_bytes(ctx, dst, src, bytes, __func__);
}
int dusa_copy_d2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  return copy_bytes(ctx, dst, src, bytes, __func__);
}

int dusa_fill(dusa_ctx* ctx, float* dst, float value, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(dst);
#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < (int64_t)n; i++) dst[i] = value;
  return DUSA_OK;
}

int dusa_profile_enable(dusa_ctx* ctx, int enabled) {
  DUSA_CTX(ctx);
  ctx->profiling = enabled != 0;
  return DUSA_OK;
}

int dusa_profile_reset(dusa_ctx* ctx) {
  CHECK_PTR(ctx);
  ctx->profile_names.clear();
  ctx->profile_calls.clear();
  ctx->profile_seconds.clear();
  ctx->profile_index.clear();
  return DUSA_OK;
}

int dusa_profile_count(dusa_ctx* ctx, int* out) {
  CHECK_PTR(ctx);
  CHECK_PTR(out);
  *out = (int)ctx->profile_names.size();
  return DUSA_OK;
}

int dusa_profile_entry(dusa_ctx* ctx, int index, char* name, int name_capacity, uint64_t* calls, double* seconds) {
  CHECK_PTR(ctx);
  CHECK_ARG(index >= 0 && index < (int)ctx->profile_names.size(), "dusa_profile_entry: index %d out of range", index);
  if (name && name_capacity > 0) snprintf(name, name_capacity, "%s", ctx->profile_names[index].c_str());
  if (calls) *calls = ctx->profile_calls[index];
  if (seconds) *seconds = ctx->profile_seconds[index];
  return DUSA_OK;
}

}  // extern "C"
