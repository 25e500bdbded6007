// graph.cu — record a context's ops once as a CUDA graph (stream capture) and replay it per batch. While recording,
// host round trips are refused (context.cu), argument checks on device data become guard kernels (reduce.cuh), and
// the first error of the recording is kept for dusa_graph_end. A replay is followed by a wait and a look at the
// guard word, so a check that failed inside the graph comes back as the op's error.
#include <new>
#include <string>
#include <vector>

#include "gpu.cuh"

struct dusa_graph {
  cudaGraphExec_t exec = nullptr;
  std::vector<dusa::GraphCheck> checks;
};

namespace {

// The message an eager check gives, for the first failed check of a replay.
int replay_check_failed(dusa_ctx* ctx, const dusa_graph* g, unsigned long long word) {
  const uint64_t index = word >> 40, element = word & ((1ull << 40) - 1);
  if (index >= g->checks.size()) return dusa::fail(DUSA_ERR_BACKEND, "dusa_graph_launch: guard word %llx names no check", word);
  const dusa::GraphCheck& c = g->checks[index];
  const long long row = (long long)(element / (uint64_t)c.row), col = (long long)(element % (uint64_t)c.row);
  if (c.kind == dusa::GraphCheck::kNonFinite)
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s row %lld has a non-finite value (found replaying a graph)", c.op, c.what, row);
  int32_t value = 0;
  cudaError_t err = cudaMemcpy(&value, c.ids + element, sizeof(value), cudaMemcpyDeviceToHost);
  if (err != cudaSuccess) return dusa::cuda_fail(err, "dusa_graph_launch", "reading back a failed id");
  if (c.row == 1)
    return dusa::fail(DUSA_ERR_INVALID, "%s: %s[%lld] = %d is outside [0, %d) (found replaying a graph)", c.op, c.what, row, value, c.bound);
  return dusa::fail(DUSA_ERR_INVALID, "%s: %s[%lld, %lld] = %d is outside [0, %d) (found replaying a graph)", c.op, c.what, row, col, value, c.bound);
}

void stop_recording(dusa_ctx* ctx) {
  ctx->capturing = false;
  dusa::keep_first_failure(nullptr);
}

// Frees the workspaces replaced while graphs held their addresses, once no graph is left.
void release_retired(dusa_ctx* ctx) {
  if (ctx->live_graphs > 0) return;
  for (void* p : ctx->retired_workspaces) dusa::release(ctx, p);
  ctx->retired_workspaces.clear();
}

}  // namespace

extern "C" {

// A recording belongs to the thread that begins it (CUDA stream capture in thread-local mode), one at a time per thread.
int dusa_graph_begin(dusa_ctx* ctx) {
  DUSA_CTX(ctx);
  cudaSetDevice(ctx->device);
  CHECK_ARG(!ctx->capturing, "dusa_graph_begin: a graph is already being recorded on this context");
  dusa::FirstFailure* other = dusa::keep_first_failure(nullptr);
  if (other) {  // refused without counting as a failure of that recording
    int status = dusa::fail(DUSA_ERR_INVALID, "dusa_graph_begin: this thread is already recording a graph on another context");
    dusa::keep_first_failure(other);
    return status;
  }
  dusa::blaslt_prepare(ctx);  // cuBLASLt's handle and workspace are made outside the recording
  ctx->graph_checks.clear();
  ctx->capture_failure = dusa::FirstFailure{};
  cudaError_t err = cudaStreamBeginCapture(ctx->stream, cudaStreamCaptureModeThreadLocal);
  if (err != cudaSuccess) return dusa::cuda_fail(err, __func__, "cudaStreamBeginCapture");
  ctx->capturing = true;
  ctx->capture_thread = std::this_thread::get_id();
  dusa::keep_first_failure(&ctx->capture_failure);
  return DUSA_OK;
}

int dusa_graph_end(dusa_ctx* ctx, dusa_graph** out) {
  DUSA_CTX(ctx);
  if (out) *out = nullptr;
  cudaSetDevice(ctx->device);
  CHECK_ARG(ctx->capturing, "dusa_graph_end: no graph is being recorded (call dusa_graph_begin first)");
  CHECK_ARG(ctx->capture_thread == std::this_thread::get_id(),
            "dusa_graph_end: the recording belongs to the thread that began it; end it there");
  stop_recording(ctx);
  cudaGraph_t graph = nullptr;
  cudaError_t err = cudaStreamEndCapture(ctx->stream, &graph);
  std::vector<dusa::GraphCheck> checks;
  checks.swap(ctx->graph_checks);
  if (ctx->capture_failure.code != DUSA_OK || err != cudaSuccess || !out) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    if (ctx->capture_failure.code != DUSA_OK)
      return dusa::fail(ctx->capture_failure.code, "dusa_graph_end: the recording failed: %s", ctx->capture_failure.message.c_str());
    if (err != cudaSuccess)
      return dusa::cuda_fail(err, __func__, "cudaStreamEndCapture (a call not allowed in a graph invalidated the recording)");
    return dusa::fail(DUSA_ERR_INVALID, "dusa_graph_end: out is null (the recording was ended and discarded)");
  }
  dusa_graph* g = new (std::nothrow) dusa_graph();
  if (!g) {
    cudaGraphDestroy(graph);
    return dusa::fail(DUSA_ERR_OOM, "dusa_graph_end: out of host memory");
  }
  err = cudaGraphInstantiate(&g->exec, graph, 0);
  cudaGraphDestroy(graph);
  if (err != cudaSuccess) {
    delete g;
    return dusa::cuda_fail(err, __func__, "cudaGraphInstantiate");
  }
  g->checks.swap(checks);
  try {
    ctx->graphs.push_back(g);
  } catch (...) {
    cudaGraphExecDestroy(g->exec);
    delete g;
    return dusa::fail(DUSA_ERR_OOM, "dusa_graph_end: out of host memory");
  }
  ctx->live_graphs++;
  *out = g;
  return DUSA_OK;
}

int dusa_graph_launch(dusa_ctx* ctx, dusa_graph* graph) {
  DUSA_OP(ctx);
  CHECK_PTR(graph);
  if (int status = dusa::refuse_while_capturing(ctx, __func__, "replaying a graph")) return status;
  bool known = false;
  for (const dusa_graph* g : ctx->graphs) known = known || g == graph;
  CHECK_ARG(known, "dusa_graph_launch: %p is not a live graph of this context", (void*)graph);
  const bool guarded = !graph->checks.empty();
  if (guarded) CHECK_CUDA(cudaMemsetAsync(ctx->guard, 0xFF, sizeof(unsigned long long), ctx->stream));
  CHECK_CUDA(cudaGraphLaunch(graph->exec, ctx->stream));
  unsigned long long word = ~0ull;
  if (guarded) CHECK_CUDA(cudaMemcpyAsync(&word, ctx->guard, sizeof(word), cudaMemcpyDeviceToHost, ctx->stream));
  CHECK_CUDA(cudaStreamSynchronize(ctx->stream));
  if (word != ~0ull) return replay_check_failed(ctx, graph, word);
  return DUSA_OK;
}

int dusa_graph_destroy(dusa_ctx* ctx, dusa_graph* graph) {
  DUSA_CTX(ctx);
  CHECK_PTR(graph);
  cudaSetDevice(ctx->device);
  for (size_t i = 0; i < ctx->graphs.size(); i++) {
    if (ctx->graphs[i] != graph) continue;
    ctx->graphs.erase(ctx->graphs.begin() + (long)i);
    // no wait: dusa_graph_launch has waited for every replay, and a recording may be open on the stream
    cudaError_t err = cudaGraphExecDestroy(graph->exec);
    delete graph;
    ctx->live_graphs--;
    if (!ctx->capturing) release_retired(ctx);
    return err == cudaSuccess ? DUSA_OK : dusa::cuda_fail(err, __func__, "cudaGraphExecDestroy");
  }
  return dusa::fail(DUSA_ERR_INVALID, "dusa_graph_destroy: %p is not a live graph of this context", (void*)graph);
}

}  // extern "C"

namespace dusa {

void graphs_destroy(dusa_ctx* ctx) {
  for (dusa_graph* g : ctx->graphs) {
    cudaGraphExecDestroy(g->exec);
    delete g;
  }
  ctx->graphs.clear();
  ctx->live_graphs = 0;  // the retired workspaces are freed with the context's other allocations
  ctx->retired_workspaces.clear();
}

}  // namespace dusa
