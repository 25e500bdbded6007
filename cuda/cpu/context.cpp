// context.cpp — CPU contexts: creation, threads, GEMM path, host memory behind the accounting of core.h, copies, fills.
#include "cpu.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace dusa {

Core* core(dusa_ctx* ctx) { return ctx; }

int allocate(dusa_ctx* ctx, void** out, uint64_t bytes, int tag) {
  if (int status = ctx->admit(bytes, tag)) return status;
  uint64_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) return fail(DUSA_ERR_OOM, "dusa_alloc: out of memory allocating %llu bytes (%s)", (unsigned long long)bytes, tag_name(tag));
  if (int status = ctx->record(p, bytes, tag)) {
    std::free(p);
    return status;
  }
  *out = p;
  return DUSA_OK;
}

int release(dusa_ctx* ctx, void* ptr) {
  if (int status = ctx->forget(ptr)) return status;
  std::free(ptr);
  return DUSA_OK;
}

OpScope::~OpScope() {
  if (!active || !ctx->profiling) return;
  ctx->profile_add(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace dusa

extern "C" {

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

int dusa_ctx_set_gemm_path(dusa_ctx* ctx, int path) {
  DUSA_CTX(ctx);
  CHECK_ARG(path >= DUSA_GEMM_AUTO && path <= DUSA_GEMM_NAIVE, "dusa_ctx_set_gemm_path: unknown path %d", path);
  if (path == DUSA_GEMM_BLAS && !dusa::blas_available())
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_set_gemm_path: this build has no BLAS");
  ctx->gemm_path = path;
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

}  // extern "C"
