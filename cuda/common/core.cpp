// core.cpp — the last error, memory accounting, the workspace and the profiler tables: the context functions
// that are the same on every backend. Compiled into each backend's library.
#include "core.h"

#include <cstdarg>
#include <cstdio>
#include <new>

namespace {
thread_local char last_error[1024] = "";
thread_local dusa::FirstFailure* first_failure = nullptr;
const char* tag_names[DUSA_TAG_COUNT] = {"param", "grad", "optim", "act", "workspace", "data"};
}  // namespace

namespace dusa {

int fail(int code, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof(last_error), fmt, args);
  va_end(args);
  if (first_failure && first_failure->code == DUSA_OK) {
    first_failure->code = code;
    try {
      first_failure->message = last_error;
    } catch (...) {
      // the message stays in last_error
    }
  }
  return code;
}

FirstFailure* keep_first_failure(FirstFailure* first) {
  FirstFailure* previous = first_failure;
  first_failure = first;
  return previous;
}

const char* tag_name(int tag) { return tag >= 0 && tag < DUSA_TAG_COUNT ? tag_names[tag] : "unknown tag"; }

int Core::admit(uint64_t bytes, int tag) const {
  uint64_t total = 0;
  for (uint64_t c : current) total += c;
  if (memory_limit && total + bytes > memory_limit)
    return fail(DUSA_ERR_OOM, "dusa_alloc: %llu bytes (%s) would pass the memory limit of %llu bytes (%llu in use)",
                (unsigned long long)bytes, tag_name(tag), (unsigned long long)memory_limit, (unsigned long long)total);
  return DUSA_OK;
}

int Core::record(void* p, uint64_t bytes, int tag) {
  try {
    allocations[p] = {bytes, tag};
  } catch (const std::bad_alloc&) {
    return fail(DUSA_ERR_OOM, "dusa_alloc: out of host memory recording an allocation");
  }
  current[tag] += bytes;
  if (current[tag] > peak[tag]) peak[tag] = current[tag];
  return DUSA_OK;
}

int Core::forget(void* p) {
  auto it = allocations.find(p);
  if (it == allocations.end())
    return fail(DUSA_ERR_INVALID, "dusa_free: %p was not allocated by this context (double free?)", p);
  current[it->second.second] -= it->second.first;
  allocations.erase(it);
  return DUSA_OK;
}

void Core::profile_add(const char* name, double seconds) {
  try {
    auto it = profile_index.find(name);
    int index;
    if (it == profile_index.end()) {
      index = (int)profile_names.size();
      profile_index[name] = index;
      profile_names.push_back(name);
      profile_calls.push_back(0);
      profile_seconds.push_back(0.0);
    } else {
      index = it->second;
    }
    profile_calls[index] += 1;
    profile_seconds[index] += seconds;
  } catch (const std::bad_alloc&) {
    // a profile entry lost to a full heap is not worth failing the op for
  }
}

float* workspace(dusa_ctx* ctx, uint64_t floats) {
  Core* c = core(ctx);
  if (floats <= c->workspace_floats) return c->workspace;
  if (c->capturing) {
    fail(DUSA_ERR_INVALID, "workspace: %llu floats needed, %llu held, and it cannot grow while a graph is being "
         "recorded (run the step once before recording it)", (unsigned long long)floats, (unsigned long long)c->workspace_floats);
    return nullptr;
  }
  if (c->workspace && c->live_graphs > 0) {
    // a recorded graph still uses the old address: keep it until the last graph goes (Core::release_retired)
    try {
      c->retired_workspaces.push_back(c->workspace);
    } catch (...) {
      fail(DUSA_ERR_OOM, "workspace: out of host memory");
      return nullptr;
    }
  } else if (c->workspace) {
    release(ctx, c->workspace);
  }
  c->workspace = nullptr;
  c->workspace_floats = 0;
  void* p = nullptr;
  if (allocate(ctx, &p, floats * sizeof(float), DUSA_TAG_WORKSPACE) != DUSA_OK) return nullptr;
  c->workspace = static_cast<float*>(p);
  c->workspace_floats = floats;
  return c->workspace;
}

}  // namespace dusa

extern "C" {

const char* dusa_last_error(void) { return last_error; }

int dusa_ctx_set_reference(dusa_ctx* ctx, int reference) {
  DUSA_CTX(ctx);
  dusa::core(ctx)->reference = reference != 0;
  return DUSA_OK;
}

int dusa_ctx_set_storage(dusa_ctx* ctx, int dtype) {
  DUSA_CTX(ctx);
  CHECK_ARG(dtype == DUSA_DTYPE_F32 || dtype == DUSA_DTYPE_BF16,
            "dusa_ctx_set_storage: dtype must be DUSA_DTYPE_F32 (0) or DUSA_DTYPE_BF16 (1), got %d", dtype);
  dusa::core(ctx)->storage = dtype;
  return DUSA_OK;
}

int dusa_ctx_get_storage(dusa_ctx* ctx, int* out) {
  DUSA_CTX(ctx);
  CHECK_PTR(out);
  *out = dusa::core(ctx)->storage;
  return DUSA_OK;
}

int dusa_ctx_set_memory_limit(dusa_ctx* ctx, uint64_t bytes) {
  DUSA_CTX(ctx);
  dusa::core(ctx)->memory_limit = bytes;
  return DUSA_OK;
}

int dusa_memory_stats(dusa_ctx* ctx, int tag, uint64_t* current, uint64_t* peak) {
  DUSA_CTX(ctx);
  CHECK_ARG(tag >= 0 && tag < DUSA_TAG_COUNT, "dusa_memory_stats: unknown tag %d", tag);
  const dusa::Core* c = dusa::core(ctx);
  if (current) *current = c->current[tag];
  if (peak) *peak = c->peak[tag];
  return DUSA_OK;
}

int dusa_memory_reset_peak(dusa_ctx* ctx) {
  DUSA_CTX(ctx);
  dusa::Core* c = dusa::core(ctx);
  for (int t = 0; t < DUSA_TAG_COUNT; t++) c->peak[t] = c->current[t];
  return DUSA_OK;
}

int dusa_profile_enable(dusa_ctx* ctx, int enabled) {
  DUSA_CTX(ctx);
  dusa::core(ctx)->profiling = enabled != 0;
  return DUSA_OK;
}

int dusa_profile_reset(dusa_ctx* ctx) {
  DUSA_CTX(ctx);
  dusa::Core* c = dusa::core(ctx);
  c->profile_names.clear();
  c->profile_calls.clear();
  c->profile_seconds.clear();
  c->profile_index.clear();
  return DUSA_OK;
}

int dusa_profile_count(dusa_ctx* ctx, int* out) {
  DUSA_CTX(ctx);
  CHECK_PTR(out);
  *out = (int)dusa::core(ctx)->profile_names.size();
  return DUSA_OK;
}

int dusa_profile_entry(dusa_ctx* ctx, int index, char* name, int name_capacity, uint64_t* calls, double* seconds) {
  DUSA_CTX(ctx);
  const dusa::Core* c = dusa::core(ctx);
  CHECK_ARG(index >= 0 && index < (int)c->profile_names.size(), "dusa_profile_entry: index %d out of range", index);
  if (name && name_capacity > 0) snprintf(name, name_capacity, "%s", c->profile_names[index].c_str());
  if (calls) *calls = c->profile_calls[index];
  if (seconds) *seconds = c->profile_seconds[index];
  return DUSA_OK;
}

}  // extern "C"
