// graph.cpp — the CPU backend has no graphs: ops run as they are called, and a caller that records a step replays
// its own calls (src/native/graph.ts). Each entry point says so instead of pretending.
#include "cpu.h"

struct dusa_graph {};

namespace {
int no_graphs(const char* fn) {
  return dusa::fail(DUSA_ERR_UNSUPPORTED, "%s: the CPU backend has no graphs (its callers replay their recorded calls)", fn);
}
}  // namespace

extern "C" {

int dusa_graph_begin(dusa_ctx* ctx) {
  DUSA_CTX(ctx);
  return no_graphs(__func__);
}

int dusa_graph_end(dusa_ctx* ctx, dusa_graph** out) {
  DUSA_CTX(ctx);
  if (out) *out = nullptr;
  return no_graphs(__func__);
}

int dusa_graph_launch(dusa_ctx* ctx, dusa_graph* graph) {
  DUSA_CTX(ctx);
  (void)graph;
  return no_graphs(__func__);
}

int dusa_graph_destroy(dusa_ctx* ctx, dusa_graph* graph) {
  DUSA_CTX(ctx);
  (void)graph;
  return no_graphs(__func__);
}

}  // extern "C"
