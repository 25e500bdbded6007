// context.cu — contexts on a CUDA device: device memory behind the accounting of core.h, copies, fills,
// synchronisation and the op timer.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>

#include "gpu.cuh"

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

namespace dusa {

Core* core(dusa_ctx* ctx) { return ctx; }

int cuda_fail(cudaError_t err, const char* op, const char* what) {
  int code = err == cudaErrorMemoryAllocation ? DUSA_ERR_OOM : DUSA_ERR_BACKEND;
  cudaGetLastError();  // clear a non-sticky error so the next op starts clean
  return fail(code, "%s: %s failed: %s (%s)", op, what, cudaGetErrorString(err), cudaGetErrorName(err));
}

int refuse_while_capturing(const dusa_ctx* ctx, const char* op, const char* what) {
  if (!ctx->capturing) return DUSA_OK;
  return fail(DUSA_ERR_INVALID, "%s: %s is not allowed while a graph is being recorded (between dusa_graph_begin and "
              "dusa_graph_end; run the step once before recording it, and read results after dusa_graph_launch)", op, what);
}

int allocate(dusa_ctx* ctx, void** out, uint64_t bytes, int tag) {
  if (int status = refuse_while_capturing(ctx, "dusa_alloc", "allocating")) return status;
  if (int status = ctx->admit(bytes, tag)) return status;
  uint64_t rounded = (bytes + 255) / 256 * 256;
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, rounded);
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    return fail(err == cudaErrorMemoryAllocation ? DUSA_ERR_OOM : DUSA_ERR_BACKEND,
                "dusa_alloc: cudaMalloc of %llu bytes (%s) failed: %s (device has %llu of %llu bytes free)",
                (unsigned long long)bytes, tag_name(tag), cudaGetErrorString(err), (unsigned long long)free_bytes,
                (unsigned long long)total_bytes);
  }
  if (int status = ctx->record(p, bytes, tag)) {
    cudaFree(p);
    return status;
  }
  *out = p;
  return DUSA_OK;
}

int release(dusa_ctx* ctx, void* ptr) {
  if (int status = refuse_while_capturing(ctx, "dusa_free", "freeing")) return status;
  if (int status = ctx->forget(ptr)) return status;
  // Work queued on the stream may still read the buffer: cudaFree synchronises the device, which is what we want.
  cudaError_t err = cudaFree(ptr);
  if (err != cudaSuccess) return cuda_fail(err, "dusa_free", "cudaFree");
  return DUSA_OK;
}

OpScope::OpScope(dusa_ctx* c, const char* n) : ctx(c), name(n), active(c && c->profiling && !c->capturing) {
  if (!active) return;
  cudaStreamSynchronize(ctx->stream);
  start = now_seconds();
}

OpScope::~OpScope() {
  if (!active || !ctx->profiling) return;
  cudaStreamSynchronize(ctx->stream);
  ctx->profile_add(name, now_seconds() - start);
}

bool is_device_pointer(const void* p) {
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
}

bool owns(const dusa_ctx* ctx, const void* p, uint64_t bytes) {
  for (const auto& entry : ctx->allocations) {
    const char* base = static_cast<const char*>(entry.first);
    if (static_cast<const char*>(p) >= base && static_cast<const char*>(p) + bytes <= base + entry.second.first) return true;
  }
  return false;
}

// While recording, our allocation table answers (no driver query inside a capture).
static bool on_device(const dusa_ctx* ctx, const void* p) { return ctx->capturing ? owns(ctx, p, 1) : is_device_pointer(p); }

void* scalar_target(dusa_ctx* ctx, void* out) { return on_device(ctx, out) ? out : ctx->device_scalars; }

int scalar_finish(dusa_ctx* ctx, void* out, uint64_t bytes, const char* op) {
  if (on_device(ctx, out)) return DUSA_OK;
  if (ctx->capturing)  // the value went to device_scalars; nothing may bring it to the host inside a graph
    return fail(DUSA_ERR_INVALID, "%s: a scalar output in host memory is not allowed while a graph is being recorded "
                "(pass a device buffer and read it after dusa_graph_launch)", op);
  if (bytes > kMaxScalars * sizeof(float)) return fail(DUSA_ERR_INVALID, "%s: %llu bytes of scalar output is too many", op, (unsigned long long)bytes);
  cudaError_t err = cudaMemcpyAsync(out, ctx->device_scalars, bytes, cudaMemcpyDeviceToHost, ctx->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(ctx->stream);
  return err == cudaSuccess ? DUSA_OK : cuda_fail(err, op, "copying a scalar result to the host");
}

void blaslt_destroy(dusa_ctx* ctx);  // gemm.cu

}  // namespace dusa

namespace {

__global__ void fill_kernel(float* dst, float value, uint64_t n) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

bool is_ours(const dusa_ctx* ctx, const void* p, uint64_t bytes) { return dusa::owns(ctx, p, bytes); }

}  // namespace

extern "C" {

const char* dusa_build_info(void) {
  static char info[256];
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  snprintf(info, sizeof(info), "dusa cuda backend; cudart %d.%d (static); archs %s", runtime / 1000,
           (runtime % 1000) / 10, DUSA_CUDA_ARCHS);
  return info;
}

int dusa_has_blas(void);  // gemm.cu: whether cuBLASLt could be opened

int dusa_ctx_create(dusa_ctx** out, const char* backend, int device) {
  CHECK_PTR(out);
  CHECK_PTR(backend);
  *out = nullptr;
  if (std::strcmp(backend, "cuda") != 0)
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_create: this library is the cuda backend, not '%s'", backend);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_create: no usable CUDA device: %s", cudaGetErrorString(err));
  }
  if (device < 0 || device >= count)
    return dusa::fail(DUSA_ERR_INVALID, "dusa_ctx_create: device %d does not exist (%d CUDA devices)", device, count);
  dusa_ctx* ctx = new (std::nothrow) dusa_ctx();
  if (!ctx) return dusa::fail(DUSA_ERR_OOM, "dusa_ctx_create: out of host memory");
  ctx->device = device;
  cudaDeviceProp prop;
  if ((err = cudaSetDevice(device)) != cudaSuccess || (err = cudaGetDeviceProperties(&prop, device)) != cudaSuccess ||
      (err = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking)) != cudaSuccess ||
      (err = cudaMalloc(&ctx->device_scalars, dusa::kMaxScalars * sizeof(float))) != cudaSuccess ||
      (err = cudaMalloc(&ctx->guard, sizeof(unsigned long long))) != cudaSuccess) {
    int code = dusa::cuda_fail(err, "dusa_ctx_create", "device setup");
    if (ctx->device_scalars) cudaFree(ctx->device_scalars);
    if (ctx->stream) cudaStreamDestroy(ctx->stream);
    delete ctx;
    return code;
  }
  ctx->sm_count = prop.multiProcessorCount;
  *out = ctx;
  return DUSA_OK;
}

int dusa_ctx_destroy(dusa_ctx* ctx) {
  CHECK_PTR(ctx);
  cudaSetDevice(ctx->device);
  if (ctx->capturing) {  // abandon an unfinished recording so the stream can be waited on and destroyed
    if (ctx->capture_thread != std::this_thread::get_id())
      return dusa::fail(DUSA_ERR_INVALID, "dusa_ctx_destroy: a graph is being recorded on this context by another thread; end it there first");
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(ctx->stream, &partial);
    if (partial) cudaGraphDestroy(partial);
    cudaGetLastError();
    ctx->capturing = false;
    dusa::keep_first_failure(nullptr);
  }
  cudaStreamSynchronize(ctx->stream);
  dusa::graphs_destroy(ctx);
  dusa::blaslt_destroy(ctx);
  for (auto& entry : ctx->allocations) cudaFree(entry.first);
  if (ctx->device_scalars) cudaFree(ctx->device_scalars);
  if (ctx->guard) cudaFree(ctx->guard);
  cudaStreamDestroy(ctx->stream);
  delete ctx;
  return DUSA_OK;
}

// Threads are a CPU notion; the CUDA backend accepts and reports them so callers need not care.
int dusa_ctx_set_threads(dusa_ctx* ctx, int threads) {
  DUSA_CTX(ctx);
  CHECK_POS(threads);
  return DUSA_OK;
}

int dusa_ctx_get_threads(dusa_ctx* ctx, int* out) {
  DUSA_CTX(ctx);
  CHECK_PTR(out);
  *out = 1;
  return DUSA_OK;
}

int dusa_ctx_set_gemm_path(dusa_ctx* ctx, int path) {
  DUSA_CTX(ctx);
  CHECK_ARG(path >= DUSA_GEMM_AUTO && path <= DUSA_GEMM_NAIVE, "dusa_ctx_set_gemm_path: unknown path %d", path);
  if (path == DUSA_GEMM_BLAS && !dusa_has_blas())
    return dusa::fail(DUSA_ERR_UNSUPPORTED, "dusa_ctx_set_gemm_path: cuBLASLt could not be loaded on this machine");
  ctx->gemm_path = path;
  return DUSA_OK;
}

// Waits for the stream; an asynchronous kernel fault surfaces here as a status.
int dusa_sync(dusa_ctx* ctx) {
  DUSA_OP(ctx);
  if (int status = dusa::refuse_while_capturing(ctx, __func__, "waiting for the device")) return status;
  CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
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

// Host <-> device copies are synchronous (the host buffer may be reused as soon as the call returns).
int dusa_copy_h2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  if (int status = dusa::refuse_while_capturing(ctx, __func__, "a copy from host memory")) return status;
  CHECK_PTR(dst);
  CHECK_PTR(src);
  if (bytes == 0) return DUSA_OK;
  CHECK_ARG(is_ours(ctx, dst, bytes), "dusa_copy_h2d: dst %p (+%llu bytes) is not inside an allocation of this context",
            dst, (unsigned long long)bytes);
  CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx->stream));
  CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
  return DUSA_OK;
}

int dusa_copy_d2h(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  if (int status = dusa::refuse_while_capturing(ctx, __func__, "a copy to host memory")) return status;
  CHECK_PTR(dst);
  CHECK_PTR(src);
  if (bytes == 0) return DUSA_OK;
  CHECK_ARG(is_ours(ctx, src, bytes), "dusa_copy_d2h: src %p (+%llu bytes) is not inside an allocation of this context",
            src, (unsigned long long)bytes);
  CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, ctx->stream));
  CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
  return DUSA_OK;
}

int dusa_copy_d2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes) {
  DUSA_OP(ctx);
  CHECK_PTR(dst);
  CHECK_PTR(src);
  if (bytes == 0) return DUSA_OK;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (s < d + bytes && d < s + bytes && s != d) {
    // overlapping ranges: cudaMemcpy is undefined there, go through the workspace
    float* tmp = dusa::workspace(ctx, (bytes + 3) / 4);
    if (!tmp) return DUSA_ERR_OOM;
    CHECK_CUDA(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    CHECK_CUDA(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
    return DUSA_OK;
  }
  CHECK_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
  return DUSA_OK;
}

int dusa_fill(dusa_ctx* ctx, float* dst, float value, uint64_t n) {
  DUSA_OP(ctx);
  CHECK_PTR(dst);
  if (n == 0) return DUSA_OK;
  fill_kernel<<<dusa::capped_blocks(n, 256), 256, 0, ctx->stream>>>(dst, value, n);
  CHECK_LAUNCH();
  return DUSA_OK;
}

}  // extern "C"
