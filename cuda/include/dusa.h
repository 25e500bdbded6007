/*
 * dusa.h — the one C ABI of the dusa kernel library, shared by every backend.
 *
 * Each backend (CPU now, CUDA later) is its own shared library exporting exactly these symbols.
 * The TypeScript side reads this header to generate its bun:ffi symbol table (src/native/gen-symbols.ts),
 * so every function declaration must stay on one `DUSA_API int name(args);` statement.
 *
 * Rules (llm.c + ggml):
 *  - Every call returns a status (DUSA_OK = 0); dusa_last_error() explains a failure. Nothing aborts.
 *  - Ops take the context first, then: outputs, saved values, inputs, weights, sizes, options.
 *  - Backward: parameter gradients accumulate (+=), activation gradients overwrite (=).
 *    A NULL gradient pointer skips that computation (a NULL weight grad costs no GEMM/conv).
 *  - Pointers are device pointers from dusa_alloc (host memory on the CPU backend); tensors are dense,
 *    row-major, fp32 unless said otherwise (dusa_act: the context's storage dtype); class ids and labels are int32.
 *  - Sizes are int32 per dimension; products are computed in 64 bits.
 */
#ifndef DUSA_H
#define DUSA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DUSA_API __declspec(dllexport)
#else
#define DUSA_API __attribute__((visibility("default")))
#endif

enum dusa_status {
  DUSA_OK = 0,
  DUSA_ERR_INVALID = 1,   /* bad argument: null pointer, bad size, out-of-range id */
  DUSA_ERR_OOM = 2,       /* allocation failed or memory limit reached */
  DUSA_ERR_BACKEND = 3,   /* the device or a library it uses failed */
  DUSA_ERR_UNSUPPORTED = 4
};

/* Memory tags: every allocation carries one; current and peak bytes are tracked per tag. */
enum dusa_tag { DUSA_TAG_PARAM = 0, DUSA_TAG_GRAD = 1, DUSA_TAG_OPTIM = 2, DUSA_TAG_ACT = 3,
                DUSA_TAG_WORKSPACE = 4, DUSA_TAG_DATA = 5, DUSA_TAG_COUNT = 6 };

/* GEMM paths of the CPU backend: BLAS when linked, else the built-in blocked kernel; NAIVE is the oracle. */
enum dusa_gemm_path { DUSA_GEMM_AUTO = 0, DUSA_GEMM_BLAS = 1, DUSA_GEMM_BLOCKED = 2, DUSA_GEMM_NAIVE = 3 };

/* Storage dtype of a context's activations (dusa_ctx_set_storage). */
enum dusa_dtype { DUSA_DTYPE_F32 = 0, DUSA_DTYPE_BF16 = 1 };

/* An activation argument: an activation, an activation gradient, or a weight read by a matmul, linear,
 * convolution or embedding. It holds float32 in fp32 storage and bf16 (uint16_t bits) in bf16 storage; every
 * other float* (parameter gradients, other parameters, saved statistics, losses, scalars, optimizer state) is
 * float32 always. In bf16 storage an op reads bf16, computes in fp32 and rounds each output once (round to nearest
 * even); the CPU backend does exactly that and is the reference of the mode. */
typedef float dusa_act;

typedef struct dusa_ctx dusa_ctx;

/* ---------------------------------------------------------------------------------------------
 * library, context, errors */
DUSA_API const char* dusa_last_error(void);
DUSA_API const char* dusa_build_info(void);
DUSA_API int dusa_has_blas(void);
DUSA_API int dusa_ctx_create(dusa_ctx** out, const char* backend, int device);
DUSA_API int dusa_ctx_destroy(dusa_ctx* ctx);
DUSA_API int dusa_ctx_set_threads(dusa_ctx* ctx, int threads);
DUSA_API int dusa_ctx_get_threads(dusa_ctx* ctx, int* out);
/* reference != 0 forces the simplest code path of every op (naive GEMM, untiled loops): the test oracle */
DUSA_API int dusa_ctx_set_reference(dusa_ctx* ctx, int reference);
DUSA_API int dusa_ctx_set_gemm_path(dusa_ctx* ctx, int path);
/* DUSA_DTYPE_F32 (the default) or DUSA_DTYPE_BF16: how the ops read and write their dusa_act arguments */
DUSA_API int dusa_ctx_set_storage(dusa_ctx* ctx, int dtype);
DUSA_API int dusa_ctx_get_storage(dusa_ctx* ctx, int* out);
/* 0 = unlimited; an allocation that would pass the limit fails with DUSA_ERR_OOM */
DUSA_API int dusa_ctx_set_memory_limit(dusa_ctx* ctx, uint64_t bytes);
DUSA_API int dusa_sync(dusa_ctx* ctx);

/* ---------------------------------------------------------------------------------------------
 * graphs: record the ops of a step once, replay them per batch (CUDA graphs; shapes and pointers fixed).
 * Between dusa_graph_begin and dusa_graph_end the context's ops are recorded, not run. While recording, anything that
 * needs the host is refused with an error: allocation (dusa_alloc, a workspace that would grow: run the step once
 * before recording), host copies, dusa_sync, scalar outputs in host memory. Argument checks that read device data
 * (class ids, non-finite inputs) become replay checks: the kernels skip a bad element and dusa_graph_launch reports
 * the first one, naming its op — after the whole graph has run, so that replay's results are to be discarded.
 * Per-step values live on the device (the *_indexed and *_counted ops). A recording belongs to the thread that began
 * it (one at a time per thread); scalar outputs must be allocations of the recording context. A workspace replaced
 * while graphs exist is kept until the last of them is destroyed (they hold its address).
 * The CPU backend answers DUSA_ERR_UNSUPPORTED: its callers replay their recorded calls themselves. */
typedef struct dusa_graph dusa_graph;
DUSA_API int dusa_graph_begin(dusa_ctx* ctx);
/* ends the recording; when it failed (an op's error, an illegal call) returns that error and no graph */
DUSA_API int dusa_graph_end(dusa_ctx* ctx, dusa_graph** out);
/* replays the graph and waits for it; a failed replay check is returned as an error naming the op */
DUSA_API int dusa_graph_launch(dusa_ctx* ctx, dusa_graph* graph);
DUSA_API int dusa_graph_destroy(dusa_ctx* ctx, dusa_graph* graph);

/* ---------------------------------------------------------------------------------------------
 * memory: tagged allocation (the memory profiler), copies, fills */
DUSA_API int dusa_alloc(dusa_ctx* ctx, void** out, uint64_t bytes, int tag);
DUSA_API int dusa_free(dusa_ctx* ctx, void* ptr);
DUSA_API int dusa_memory_stats(dusa_ctx* ctx, int tag, uint64_t* current, uint64_t* peak);
DUSA_API int dusa_memory_reset_peak(dusa_ctx* ctx);
DUSA_API int dusa_copy_h2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes);
DUSA_API int dusa_copy_d2h(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes);
DUSA_API int dusa_copy_d2d(dusa_ctx* ctx, void* dst, const void* src, uint64_t bytes);
DUSA_API int dusa_fill(dusa_ctx* ctx, float* dst, float value, uint64_t n);

/* ---------------------------------------------------------------------------------------------
 * storage conversion: bf16 is a uint16_t holding the high half of an IEEE float32. float32 -> bf16 rounds to
 * nearest even (NaN stays a quiet NaN of the same sign, overflow goes to inf), exactly as PyTorch's .bfloat16();
 * bf16 -> float32 is exact. The bf16 storage mode's weight shadows and activation casts are built on these. */
DUSA_API int dusa_f32_to_bf16(dusa_ctx* ctx, uint16_t* out, const float* in, uint64_t n);
DUSA_API int dusa_bf16_to_f32(dusa_ctx* ctx, float* out, const uint16_t* in, uint64_t n);

/* ---------------------------------------------------------------------------------------------
 * profiler: per-op call counts and wall time, on when enabled */
DUSA_API int dusa_profile_enable(dusa_ctx* ctx, int enabled);
DUSA_API int dusa_profile_reset(dusa_ctx* ctx);
DUSA_API int dusa_profile_count(dusa_ctx* ctx, int* out);
DUSA_API int dusa_profile_entry(dusa_ctx* ctx, int index, char* name, int name_capacity, uint64_t* calls, double* seconds);

/* ---------------------------------------------------------------------------------------------
 * RNG: Philox4x32-10, counter = (offset + i/4), key = seed. Element i of a fill depends only on
 * (seed, offset, i): the same on every backend and thread count. Normals by Box–Muller on pairs. */
DUSA_API int dusa_rng_uniform(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float low, float high);
DUSA_API int dusa_rng_normal(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, float mean, float std);
/* The same fills at offset + index[0] * stride, with index an int32 in device memory read as unsigned: a step
 * counter kept on the device, so a captured graph draws fresh numbers on every replay. */
DUSA_API int dusa_rng_uniform_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, const int32_t* index, uint64_t stride, float low, float high);
DUSA_API int dusa_rng_normal_indexed(dusa_ctx* ctx, float* out, uint64_t n, uint64_t seed, uint64_t offset, const int32_t* index, uint64_t stride, float mean, float std);
/* counter[0] += delta when gate is NULL or gate[0] != 0 (both int32 in device memory) */
DUSA_API int dusa_counter_add(dusa_ctx* ctx, int32_t* counter, int32_t delta, const int32_t* gate);

/* ---------------------------------------------------------------------------------------------
 * elementwise */
DUSA_API int dusa_add(dusa_ctx* ctx, dusa_act* out, const dusa_act* a, const dusa_act* b, uint64_t n);            /* out = a + b (may alias) */
DUSA_API int dusa_axpy(dusa_ctx* ctx, float* y, const float* x, float alpha, uint64_t n);                /* y += alpha x */
DUSA_API int dusa_scale(dusa_ctx* ctx, float* x, float alpha, uint64_t n);                               /* x *= alpha */
/* out = alpha * in on activations (may alias; dusa_axpy and dusa_scale are fp32-only, for parameters and state) */
DUSA_API int dusa_scale_copy(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, float alpha, uint64_t n);
/* out[r, c] = in[r, c] * scale[c] over (rows, C); backward: din = dout*scale, dscale += sum_r dout*in */
DUSA_API int dusa_channel_scale_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, const float* scale, int rows, int C);
DUSA_API int dusa_channel_scale_backward(dusa_ctx* ctx, dusa_act* din, float* dscale, const dusa_act* dout, const dusa_act* in, const float* scale, int rows, int C);
/* out[0] = 1 when every x is finite, else 0 */
DUSA_API int dusa_all_finite(dusa_ctx* ctx, int* out, const float* x, uint64_t n);

/* ---------------------------------------------------------------------------------------------
 * 1. matmul / linear
 * matmul: C(M,N) = alpha * op(A) op(B) + beta * C, row-major; op(A) is (M,K), op(B) is (K,N).
 * batched: the same over `batch` matrices at element strides sa, sb, sc. */
DUSA_API int dusa_matmul(dusa_ctx* ctx, dusa_act* C, const dusa_act* A, const dusa_act* B, int M, int N, int K, int trans_a, int trans_b, float alpha, float beta);
DUSA_API int dusa_matmul_batched(dusa_ctx* ctx, dusa_act* C, const dusa_act* A, const dusa_act* B, int batch, int M, int N, int K, int trans_a, int trans_b, float alpha, float beta, int64_t stride_a, int64_t stride_b, int64_t stride_c);
/* linear: out(N,OC) = in(N,IC) W(OC,IC)^T + b(OC); b may be NULL */
DUSA_API int dusa_linear_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, const dusa_act* weight, const float* bias, int N, int IC, int OC);
/* din(N,IC) = dout W (overwrite); dweight += dout^T in; dbias += sum_n dout; any of the three may be NULL */
DUSA_API int dusa_linear_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const dusa_act* weight, int N, int IC, int OC);

/* ---------------------------------------------------------------------------------------------
 * 2. LayerNorm over the last dim C of (N, C); weight/bias may be NULL (no affine); saves mean, rstd (N) */
DUSA_API int dusa_layernorm_forward(dusa_ctx* ctx, dusa_act* out, float* mean, float* rstd, const dusa_act* in, const float* weight, const float* bias, int N, int C, float eps);
DUSA_API int dusa_layernorm_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const float* weight, const float* mean, const float* rstd, int N, int C);
/* LayerNorm (no affine) + adaLN modulate over (B, T, C): out = xhat * (1 + scale[b]) + shift[b].
 * shift and scale rows are C wide at row stride mod_stride (they are chunks of the adaLN output).
 * Backward writes dshift/dscale (activation grads, overwrite) at the same stride. */
DUSA_API int dusa_layernorm_modulate_forward(dusa_ctx* ctx, dusa_act* out, float* mean, float* rstd, const dusa_act* in, const dusa_act* shift, const dusa_act* scale, int B, int T, int C, int mod_stride, float eps);
DUSA_API int dusa_layernorm_modulate_backward(dusa_ctx* ctx, dusa_act* din, dusa_act* dshift, dusa_act* dscale, const dusa_act* dout, const dusa_act* in, const dusa_act* scale, const float* mean, const float* rstd, int B, int T, int C, int mod_stride);
/* LayerNorm over the channels of NCHW (B, C, HW) at each pixel (timm LayerNorm2d); saves mean, rstd (B, HW) */
DUSA_API int dusa_layernorm2d_forward(dusa_ctx* ctx, dusa_act* out, float* mean, float* rstd, const dusa_act* in, const float* weight, const float* bias, int B, int C, int HW, float eps);
DUSA_API int dusa_layernorm2d_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const float* weight, const float* mean, const float* rstd, int B, int C, int HW);

/* ---------------------------------------------------------------------------------------------
 * 3. GroupNorm over NCHW (B, C, HW) with G groups (C % G == 0); weight/bias may be NULL (1 and 0);
 * silu != 0 applies SiLU after it (fused).
 * saves mean, rstd (B, G); backward recomputes the normalised values. */
DUSA_API int dusa_groupnorm_forward(dusa_ctx* ctx, dusa_act* out, float* mean, float* rstd, const dusa_act* in, const float* weight, const float* bias, int B, int C, int HW, int G, float eps, int silu);
DUSA_API int dusa_groupnorm_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const float* weight, const float* bias, const float* mean, const float* rstd, int B, int C, int HW, int G, int silu);

/* ---------------------------------------------------------------------------------------------
 * 4. activations and residuals; approximate: 0 = erf GELU, 1 = tanh GELU.
 * The elementwise forwards and backwards may run in place (out == in, din == dout). */
DUSA_API int dusa_gelu_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, uint64_t n, int approximate);
DUSA_API int dusa_gelu_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, const dusa_act* in, uint64_t n, int approximate);
DUSA_API int dusa_silu_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, uint64_t n);
DUSA_API int dusa_silu_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, const dusa_act* in, uint64_t n);
/* gated residual over (B, T, C): out = x + gate[b] * y, gate rows C wide at stride gate_stride.
 * backward: dx = dout (skipped when dx is NULL or equals dout), dy = gate*dout, dgate = sum_t dout*y (overwrite) */
DUSA_API int dusa_gated_residual_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* x, const dusa_act* y, const dusa_act* gate, int B, int T, int C, int gate_stride);
DUSA_API int dusa_gated_residual_backward(dusa_ctx* ctx, dusa_act* dx, dusa_act* dy, dusa_act* dgate, const dusa_act* dout, const dusa_act* y, const dusa_act* gate, int B, int T, int C, int gate_stride);

/* ---------------------------------------------------------------------------------------------
 * 5. conv2d NCHW: in (B, IC, H, W), weight (OC, IC, KH, KW), bias (OC) or NULL, out (B, OC, OH, OW) with
 * OH = (H + pad_top + pad_bottom - KH) / stride_h + 1 (likewise OW). */
DUSA_API int dusa_conv2d_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, const dusa_act* weight, const float* bias, int B, int IC, int H, int W, int OC, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_bottom, int pad_left, int pad_right);
DUSA_API int dusa_conv2d_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const dusa_act* weight, int B, int IC, int H, int W, int OC, int KH, int KW, int stride_h, int stride_w, int pad_top, int pad_bottom, int pad_left, int pad_right);

/* ---------------------------------------------------------------------------------------------
 * 6. depthwise conv2d NCHW, stride 1, square odd kernel K with padding K/2 ("same"): weight (C, 1, K, K) */
DUSA_API int dusa_dwconv2d_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, const dusa_act* weight, const float* bias, int B, int C, int H, int W, int K);
DUSA_API int dusa_dwconv2d_backward(dusa_ctx* ctx, dusa_act* din, float* dweight, float* dbias, const dusa_act* dout, const dusa_act* in, const dusa_act* weight, int B, int C, int H, int W, int K);

/* ---------------------------------------------------------------------------------------------
 * 7. layout ops (each backward is the inverse map, overwrite) */
DUSA_API int dusa_nchw_to_nhwc(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W);
DUSA_API int dusa_nhwc_to_nchw(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W);
/* patchify: (B, C, H, W) -> (B, (H/P)(W/P), C*P*P), token features in (c, ph, pw) order (Conv2d weight order) */
DUSA_API int dusa_patchify_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W, int P);
DUSA_API int dusa_patchify_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, int B, int C, int H, int W, int P);
/* unpatchify: (B, (H/P)(W/P), P*P*C), token features in (ph, pw, c) order (SiT/DiT final layer) -> (B, C, H, W) */
DUSA_API int dusa_unpatchify_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W, int P);
DUSA_API int dusa_unpatchify_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, int B, int C, int H, int W, int P);
/* global average pool (B, C, HW) -> (B, C) */
DUSA_API int dusa_avgpool_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int HW);
DUSA_API int dusa_avgpool_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, int B, int C, int HW);
/* nearest 2x upsample (B, C, H, W) -> (B, C, 2H, 2W) */
DUSA_API int dusa_upsample2x_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W);
DUSA_API int dusa_upsample2x_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, int B, int C, int H, int W);
/* bilinear resize with align_corners=True (B, C, H, W) -> (B, C, OH, OW), forward only */
DUSA_API int dusa_resize_bilinear(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W, int OH, int OW);
/* zero pad (B, C, H, W) -> (B, C, H+top+bottom, W+left+right); backward crops */
DUSA_API int dusa_pad2d_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int B, int C, int H, int W, int top, int bottom, int left, int right);
DUSA_API int dusa_pad2d_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, int B, int C, int H, int W, int top, int bottom, int left, int right);

/* ---------------------------------------------------------------------------------------------
 * 8. multi-head self-attention, fused and memory-efficient (never more than a tile of the T x T scores).
 * q, k, v: token t of batch b, head h at ptr + (b*T + t)*row_stride + h*HD. For timm's packed qkv
 * (B, T, 3*NH*HD): q = qkv, k = qkv + NH*HD, v = qkv + 2*NH*HD, row_stride = 3*NH*HD.
 * out (B, T, NH*HD); lse (B, NH, T) natural-log logsumexp of the scaled scores; scale = 1/sqrt(HD).
 * backward writes dq, dk, dv at the same layout and stride (overwrite), recomputing the probabilities. */
DUSA_API int dusa_attention_forward(dusa_ctx* ctx, dusa_act* out, float* lse, const dusa_act* q, const dusa_act* k, const dusa_act* v, int B, int T, int NH, int HD, int row_stride);
DUSA_API int dusa_attention_backward(dusa_ctx* ctx, dusa_act* dq, dusa_act* dk, dusa_act* dv, const dusa_act* dout, const dusa_act* q, const dusa_act* k, const dusa_act* v, const dusa_act* out, const float* lse, int B, int T, int NH, int HD, int row_stride);

/* ---------------------------------------------------------------------------------------------
 * 9. softmax / l2-normalise / cross-entropy / entropy over rows (N, C) */
/* out = softmax(in / temperature) */
DUSA_API int dusa_softmax_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, int N, int C, float temperature);
DUSA_API int dusa_softmax_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, const dusa_act* out, int N, int C, float temperature);
/* out = in / max(||in||_2, eps) (torch F.normalize); saves norm (N) */
DUSA_API int dusa_l2norm_forward(dusa_ctx* ctx, dusa_act* out, float* norm, const dusa_act* in, int N, int C, float eps);
DUSA_API int dusa_l2norm_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, const dusa_act* in, const float* norm, int N, int C, float eps);
/* loss[0] = mean_n -log softmax(logits)[n, labels[n]]; backward: dlogits = dloss * (softmax - onehot) / N */
DUSA_API int dusa_cross_entropy_forward(dusa_ctx* ctx, float* loss, const dusa_act* logits, const int32_t* labels, int N, int C);
DUSA_API int dusa_cross_entropy_backward(dusa_ctx* ctx, dusa_act* dlogits, const dusa_act* logits, const int32_t* labels, int N, int C, float dloss);
/* loss[0] = mean_n sum_c -p log p, p = softmax(logits); backward: dlogits = dloss * d(loss)/d(logits) */
DUSA_API int dusa_entropy_forward(dusa_ctx* ctx, float* loss, const dusa_act* logits, int N, int C);
DUSA_API int dusa_entropy_backward(dusa_ctx* ctx, dusa_act* dlogits, const dusa_act* logits, int N, int C, float dloss);
/* argmax per row -> int32 (N) */
DUSA_API int dusa_argmax(dusa_ctx* ctx, int32_t* out, const dusa_act* in, int N, int C);

/* ---------------------------------------------------------------------------------------------
 * 10. embeddings */
/* out(N, C) = table[ids[n]]; ids outside [0, V) are an error */
DUSA_API int dusa_embedding_forward(dusa_ctx* ctx, dusa_act* out, const int32_t* ids, const dusa_act* table, int N, int C, int V);
DUSA_API int dusa_embedding_backward(dusa_ctx* ctx, float* dtable, const dusa_act* dout, const int32_t* ids, int N, int C, int V);
/* sinusoidal timestep embedding (N, dim): [cos(t f_i), sin(t f_i)], f_i = exp(-ln(max_period) i / half), zero pad if dim odd */
DUSA_API int dusa_timestep_embedding(dusa_ctx* ctx, dusa_act* out, const float* t, int N, int dim, float max_period);

/* ---------------------------------------------------------------------------------------------
 * 11. DUSA class selection. selected (B, K = topk + rand_budget) int32: the top-k classes of `normed`
 * (descending, ties to the lower index), then rand_budget classes drawn without replacement from
 * softmax(logits / temperature) restricted to the non-top-k classes. Draw j of row b uses the Philox
 * uniform at (seed, offset, b * rand_budget + j). */
DUSA_API int dusa_select_classes(dusa_ctx* ctx, int32_t* selected, const dusa_act* normed, const dusa_act* logits, int B, int C, int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset);
/* the same draws at offset + index[0] * stride (index: a device int32 read as unsigned, as dusa_rng_normal_indexed) */
DUSA_API int dusa_select_classes_indexed(dusa_ctx* ctx, int32_t* selected, const dusa_act* normed, const dusa_act* logits, int B, int C, int topk, int rand_budget, float temperature, uint64_t seed, uint64_t offset, const int32_t* index, uint64_t stride);
/* out(B, K) = in[b, idx[b, k]]; backward: din(B, C) = scatter of dout (overwrite, zero elsewhere) */
DUSA_API int dusa_gather_forward(dusa_ctx* ctx, dusa_act* out, const dusa_act* in, const int32_t* idx, int B, int C, int K);
DUSA_API int dusa_gather_backward(dusa_ctx* ctx, dusa_act* din, const dusa_act* dout, const int32_t* idx, int B, int C, int K);

/* ---------------------------------------------------------------------------------------------
 * 12. fused flow loss. w (B, K), p (B, K, D), target (B, D); p_w = sum_k w_k p_k.
 * terms[4] = {total, mse, norm_l2, cosine} with total = w_mse*mse + w_norm_l2*norm_l2 + w_cosine*cosine,
 *   mse     = mean_{b,d} (p_w - target)^2
 *   norm_l2 = mean_b e_b / stopgrad(sqrt(e_b + 1e-3)), e_b = mean_d (p_w - target)^2
 *   cosine  = mean_b 1 - <p_w, target> / max(|p_w| |target|, 1e-8)
 * Gradients of grad_scale * total: dw (B, K) and dp (B, K, D), overwrite; NULL skips (dp when aux is frozen). */
DUSA_API int dusa_flow_loss(dusa_ctx* ctx, float* terms, dusa_act* dw, dusa_act* dp, const dusa_act* w, const dusa_act* p, const dusa_act* target, int B, int K, int D, float w_mse, float w_norm_l2, float w_cosine, float grad_scale);

/* ---------------------------------------------------------------------------------------------
 * 13. optimizers over flat fp32 buffers (one allocation per kind of tensor: params, grads, m, v)
 * adam: torch.optim.Adam (decoupled = 0, L2 weight decay added to the gradient) or AdamW (decoupled = 1).
 * step is the 1-based step count after this update (for bias correction). Hyper-parameters are doubles, as in
 * torch, so derived scalars such as 1 - beta2 are formed in double before rounding to float. */
DUSA_API int dusa_adam_step(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled, int step);
/* sgd: torch.optim.SGD with momentum, dampening, nesterov; momentum buffer may be NULL when momentum = 0 */
DUSA_API int dusa_sgd_step(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr, double momentum, double dampening, double weight_decay, int nesterov, int step);
/* The same updates with the step count in device memory: step = count[0] + 1 (count an int32 read as unsigned: the
 * updates made so far), and no change at all when gate is not NULL and gate[0] == 0 (e.g. dusa_all_finite of the
 * loss). The caller advances count with dusa_counter_add(count, 1, gate) after the last range of the update. */
DUSA_API int dusa_adam_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* m, float* v, uint64_t n, double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled, const int32_t* count, const int32_t* gate);
DUSA_API int dusa_sgd_step_counted(dusa_ctx* ctx, float* param, const float* grad, float* momentum_buf, uint64_t n, double lr, double momentum, double dampening, double weight_decay, int nesterov, const int32_t* count, const int32_t* gate);
/* out[0] = sqrt(sum x^2) (accumulated in double) */
DUSA_API int dusa_l2_norm(dusa_ctx* ctx, float* out, const float* x, uint64_t n);
/* torch.nn.utils.clip_grad_norm_: given the total norm, x *= min(1, max_norm / (norm + 1e-6)) */
DUSA_API int dusa_clip_by_norm(dusa_ctx* ctx, float* x, uint64_t n, float max_norm, float norm);

#ifdef __cplusplus
}
#endif
#endif /* DUSA_H */
