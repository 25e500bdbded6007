// GENERATED from cuda/include/dusa.h by src/native/gen-symbols.ts (bun run gen:ffi). Do not edit.
import type { PtrArg } from "./ptr.ts";

export const symbols = {
  dusa_last_error: { args: [], returns: "cstring" },
  dusa_build_info: { args: [], returns: "cstring" },
  dusa_has_blas: { args: [], returns: "i32" },
  dusa_ctx_create: { args: ["ptr", "ptr", "i32"], returns: "i32" },
  dusa_ctx_destroy: { args: ["ptr"], returns: "i32" },
  dusa_ctx_set_threads: { args: ["ptr", "i32"], returns: "i32" },
  dusa_ctx_get_threads: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_ctx_set_reference: { args: ["ptr", "i32"], returns: "i32" },
  dusa_ctx_set_gemm_path: { args: ["ptr", "i32"], returns: "i32" },
  dusa_ctx_set_storage: { args: ["ptr", "i32"], returns: "i32" },
  dusa_ctx_get_storage: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_ctx_set_memory_limit: { args: ["ptr", "u64"], returns: "i32" },
  dusa_sync: { args: ["ptr"], returns: "i32" },
  dusa_graph_begin: { args: ["ptr"], returns: "i32" },
  dusa_graph_end: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_graph_launch: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_graph_destroy: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_alloc: { args: ["ptr", "ptr", "u64", "i32"], returns: "i32" },
  dusa_free: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_memory_stats: { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" },
  dusa_memory_reset_peak: { args: ["ptr"], returns: "i32" },
  dusa_copy_h2d: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_copy_d2h: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_copy_d2d: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_fill: { args: ["ptr", "ptr", "f32", "u64"], returns: "i32" },
  dusa_f32_to_bf16: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_bf16_to_f32: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_profile_enable: { args: ["ptr", "i32"], returns: "i32" },
  dusa_profile_reset: { args: ["ptr"], returns: "i32" },
  dusa_profile_count: { args: ["ptr", "ptr"], returns: "i32" },
  dusa_profile_entry: { args: ["ptr", "i32", "ptr", "i32", "ptr", "ptr"], returns: "i32" },
  dusa_rng_uniform: { args: ["ptr", "ptr", "u64", "u64", "u64", "f32", "f32"], returns: "i32" },
  dusa_rng_normal: { args: ["ptr", "ptr", "u64", "u64", "u64", "f32", "f32"], returns: "i32" },
  dusa_rng_uniform_indexed: { args: ["ptr", "ptr", "u64", "u64", "u64", "ptr", "u64", "f32", "f32"], returns: "i32" },
  dusa_rng_normal_indexed: { args: ["ptr", "ptr", "u64", "u64", "u64", "ptr", "u64", "f32", "f32"], returns: "i32" },
  dusa_counter_add: { args: ["ptr", "ptr", "i32", "ptr"], returns: "i32" },
  dusa_add: { args: ["ptr", "ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_axpy: { args: ["ptr", "ptr", "ptr", "f32", "u64"], returns: "i32" },
  dusa_scale: { args: ["ptr", "ptr", "f32", "u64"], returns: "i32" },
  dusa_scale_copy: { args: ["ptr", "ptr", "ptr", "f32", "u64"], returns: "i32" },
  dusa_channel_scale_forward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_channel_scale_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_all_finite: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_matmul: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "f32", "f32"], returns: "i32" },
  dusa_matmul_batched: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32", "i64", "i64", "i64"], returns: "i32" },
  dusa_linear_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_linear_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_layernorm_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_layernorm_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_layernorm_modulate_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32"], returns: "i32" },
  dusa_layernorm_modulate_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_layernorm2d_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "f32"], returns: "i32" },
  dusa_layernorm2d_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_groupnorm_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32", "i32"], returns: "i32" },
  dusa_groupnorm_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_gelu_forward: { args: ["ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
  dusa_gelu_backward: { args: ["ptr", "ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
  dusa_silu_forward: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_silu_backward: { args: ["ptr", "ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_gated_residual_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_gated_residual_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_conv2d_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_conv2d_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_dwconv2d_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_dwconv2d_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_nchw_to_nhwc: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_nhwc_to_nchw: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_patchify_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_patchify_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_unpatchify_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_unpatchify_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_avgpool_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_avgpool_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_upsample2x_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_upsample2x_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_resize_bilinear: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_pad2d_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_pad2d_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_attention_forward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_attention_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32"], returns: "i32" },
  dusa_softmax_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_softmax_backward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_l2norm_forward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_l2norm_backward: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_cross_entropy_forward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_cross_entropy_backward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_entropy_forward: { args: ["ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_entropy_backward: { args: ["ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_argmax: { args: ["ptr", "ptr", "ptr", "i32", "i32"], returns: "i32" },
  dusa_embedding_forward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_embedding_backward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_timestep_embedding: { args: ["ptr", "ptr", "ptr", "i32", "i32", "f32"], returns: "i32" },
  dusa_select_classes: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32", "u64", "u64"], returns: "i32" },
  dusa_select_classes_indexed: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32", "u64", "u64", "ptr", "u64"], returns: "i32" },
  dusa_gather_forward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_gather_backward: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  dusa_flow_loss: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "f32", "f32", "f32", "f32"], returns: "i32" },
  dusa_adam_step: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "u64", "f64", "f64", "f64", "f64", "f64", "i32", "i32"], returns: "i32" },
  dusa_sgd_step: { args: ["ptr", "ptr", "ptr", "ptr", "u64", "f64", "f64", "f64", "f64", "i32", "i32"], returns: "i32" },
  dusa_adam_step_counted: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "u64", "f64", "f64", "f64", "f64", "f64", "i32", "ptr", "ptr"], returns: "i32" },
  dusa_sgd_step_counted: { args: ["ptr", "ptr", "ptr", "ptr", "u64", "f64", "f64", "f64", "f64", "i32", "ptr", "ptr"], returns: "i32" },
  dusa_l2_norm: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  dusa_clip_by_norm: { args: ["ptr", "ptr", "u64", "f32", "f32"], returns: "i32" },
} as const;

/** Parameter names and C types of every function, for error messages. */
export const parameters: Record<string, readonly (readonly [string, string])[]> = {
  dusa_last_error: [],
  dusa_build_info: [],
  dusa_has_blas: [],
  dusa_ctx_create: [["out", "dusa_ctx**"], ["backend", "const char*"], ["device", "int"]],
  dusa_ctx_destroy: [["ctx", "dusa_ctx*"]],
  dusa_ctx_set_threads: [["ctx", "dusa_ctx*"], ["threads", "int"]],
  dusa_ctx_get_threads: [["ctx", "dusa_ctx*"], ["out", "int*"]],
  dusa_ctx_set_reference: [["ctx", "dusa_ctx*"], ["reference", "int"]],
  dusa_ctx_set_gemm_path: [["ctx", "dusa_ctx*"], ["path", "int"]],
  dusa_ctx_set_storage: [["ctx", "dusa_ctx*"], ["dtype", "int"]],
  dusa_ctx_get_storage: [["ctx", "dusa_ctx*"], ["out", "int*"]],
  dusa_ctx_set_memory_limit: [["ctx", "dusa_ctx*"], ["bytes", "uint64_t"]],
  dusa_sync: [["ctx", "dusa_ctx*"]],
  dusa_graph_begin: [["ctx", "dusa_ctx*"]],
  dusa_graph_end: [["ctx", "dusa_ctx*"], ["out", "dusa_graph**"]],
  dusa_graph_launch: [["ctx", "dusa_ctx*"], ["graph", "dusa_graph*"]],
  dusa_graph_destroy: [["ctx", "dusa_ctx*"], ["graph", "dusa_graph*"]],
  dusa_alloc: [["ctx", "dusa_ctx*"], ["out", "void**"], ["bytes", "uint64_t"], ["tag", "int"]],
  dusa_free: [["ctx", "dusa_ctx*"], ["ptr", "void*"]],
  dusa_memory_stats: [["ctx", "dusa_ctx*"], ["tag", "int"], ["current", "uint64_t*"], ["peak", "uint64_t*"]],
  dusa_memory_reset_peak: [["ctx", "dusa_ctx*"]],
  dusa_copy_h2d: [["ctx", "dusa_ctx*"], ["dst", "void*"], ["src", "const void*"], ["bytes", "uint64_t"]],
  dusa_copy_d2h: [["ctx", "dusa_ctx*"], ["dst", "void*"], ["src", "const void*"], ["bytes", "uint64_t"]],
  dusa_copy_d2d: [["ctx", "dusa_ctx*"], ["dst", "void*"], ["src", "const void*"], ["bytes", "uint64_t"]],
  dusa_fill: [["ctx", "dusa_ctx*"], ["dst", "float*"], ["value", "float"], ["n", "uint64_t"]],
  dusa_f32_to_bf16: [["ctx", "dusa_ctx*"], ["out", "uint16_t*"], ["in", "const float*"], ["n", "uint64_t"]],
  dusa_bf16_to_f32: [["ctx", "dusa_ctx*"], ["out", "float*"], ["in", "const uint16_t*"], ["n", "uint64_t"]],
  dusa_profile_enable: [["ctx", "dusa_ctx*"], ["enabled", "int"]],
  dusa_profile_reset: [["ctx", "dusa_ctx*"]],
  dusa_profile_count: [["ctx", "dusa_ctx*"], ["out", "int*"]],
  dusa_profile_entry: [["ctx", "dusa_ctx*"], ["index", "int"], ["name", "char*"], ["name_capacity", "int"], ["calls", "uint64_t*"], ["seconds", "double*"]],
  dusa_rng_uniform: [["ctx", "dusa_ctx*"], ["out", "float*"], ["n", "uint64_t"], ["seed", "uint64_t"], ["offset", "uint64_t"], ["low", "float"], ["high", "float"]],
  dusa_rng_normal: [["ctx", "dusa_ctx*"], ["out", "float*"], ["n", "uint64_t"], ["seed", "uint64_t"], ["offset", "uint64_t"], ["mean", "float"], ["std", "float"]],
  dusa_rng_uniform_indexed: [["ctx", "dusa_ctx*"], ["out", "float*"], ["n", "uint64_t"], ["seed", "uint64_t"], ["offset", "uint64_t"], ["index", "const int32_t*"], ["stride", "uint64_t"], ["low", "float"], ["high", "float"]],
  dusa_rng_normal_indexed: [["ctx", "dusa_ctx*"], ["out", "float*"], ["n", "uint64_t"], ["seed", "uint64_t"], ["offset", "uint64_t"], ["index", "const int32_t*"], ["stride", "uint64_t"], ["mean", "float"], ["std", "float"]],
  dusa_counter_add: [["ctx", "dusa_ctx*"], ["counter", "int32_t*"], ["delta", "int32_t"], ["gate", "const int32_t*"]],
  dusa_add: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["a", "const dusa_act*"], ["b", "const dusa_act*"], ["n", "uint64_t"]],
  dusa_axpy: [["ctx", "dusa_ctx*"], ["y", "float*"], ["x", "const float*"], ["alpha", "float"], ["n", "uint64_t"]],
  dusa_scale: [["ctx", "dusa_ctx*"], ["x", "float*"], ["alpha", "float"], ["n", "uint64_t"]],
  dusa_scale_copy: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["alpha", "float"], ["n", "uint64_t"]],
  dusa_channel_scale_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["scale", "const float*"], ["rows", "int"], ["C", "int"]],
  dusa_channel_scale_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dscale", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["scale", "const float*"], ["rows", "int"], ["C", "int"]],
  dusa_all_finite: [["ctx", "dusa_ctx*"], ["out", "int*"], ["x", "const float*"], ["n", "uint64_t"]],
  dusa_matmul: [["ctx", "dusa_ctx*"], ["C", "dusa_act*"], ["A", "const dusa_act*"], ["B", "const dusa_act*"], ["M", "int"], ["N", "int"], ["K", "int"], ["trans_a", "int"], ["trans_b", "int"], ["alpha", "float"], ["beta", "float"]],
  dusa_matmul_batched: [["ctx", "dusa_ctx*"], ["C", "dusa_act*"], ["A", "const dusa_act*"], ["B", "const dusa_act*"], ["batch", "int"], ["M", "int"], ["N", "int"], ["K", "int"], ["trans_a", "int"], ["trans_b", "int"], ["alpha", "float"], ["beta", "float"], ["stride_a", "int64_t"], ["stride_b", "int64_t"], ["stride_c", "int64_t"]],
  dusa_linear_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["bias", "const float*"], ["N", "int"], ["IC", "int"], ["OC", "int"]],
  dusa_linear_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["N", "int"], ["IC", "int"], ["OC", "int"]],
  dusa_layernorm_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["mean", "float*"], ["rstd", "float*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["bias", "const float*"], ["N", "int"], ["C", "int"], ["eps", "float"]],
  dusa_layernorm_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["mean", "const float*"], ["rstd", "const float*"], ["N", "int"], ["C", "int"]],
  dusa_layernorm_modulate_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["mean", "float*"], ["rstd", "float*"], ["in", "const dusa_act*"], ["shift", "const dusa_act*"], ["scale", "const dusa_act*"], ["B", "int"], ["T", "int"], ["C", "int"], ["mod_stride", "int"], ["eps", "float"]],
  dusa_layernorm_modulate_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dshift", "dusa_act*"], ["dscale", "dusa_act*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["scale", "const dusa_act*"], ["mean", "const float*"], ["rstd", "const float*"], ["B", "int"], ["T", "int"], ["C", "int"], ["mod_stride", "int"]],
  dusa_layernorm2d_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["mean", "float*"], ["rstd", "float*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["bias", "const float*"], ["B", "int"], ["C", "int"], ["HW", "int"], ["eps", "float"]],
  dusa_layernorm2d_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["mean", "const float*"], ["rstd", "const float*"], ["B", "int"], ["C", "int"], ["HW", "int"]],
  dusa_groupnorm_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["mean", "float*"], ["rstd", "float*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["bias", "const float*"], ["B", "int"], ["C", "int"], ["HW", "int"], ["G", "int"], ["eps", "float"], ["silu", "int"]],
  dusa_groupnorm_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const float*"], ["bias", "const float*"], ["mean", "const float*"], ["rstd", "const float*"], ["B", "int"], ["C", "int"], ["HW", "int"], ["G", "int"], ["silu", "int"]],
  dusa_gelu_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["n", "uint64_t"], ["approximate", "int"]],
  dusa_gelu_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["n", "uint64_t"], ["approximate", "int"]],
  dusa_silu_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["n", "uint64_t"]],
  dusa_silu_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["n", "uint64_t"]],
  dusa_gated_residual_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["x", "const dusa_act*"], ["y", "const dusa_act*"], ["gate", "const dusa_act*"], ["B", "int"], ["T", "int"], ["C", "int"], ["gate_stride", "int"]],
  dusa_gated_residual_backward: [["ctx", "dusa_ctx*"], ["dx", "dusa_act*"], ["dy", "dusa_act*"], ["dgate", "dusa_act*"], ["dout", "const dusa_act*"], ["y", "const dusa_act*"], ["gate", "const dusa_act*"], ["B", "int"], ["T", "int"], ["C", "int"], ["gate_stride", "int"]],
  dusa_conv2d_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["bias", "const float*"], ["B", "int"], ["IC", "int"], ["H", "int"], ["W", "int"], ["OC", "int"], ["KH", "int"], ["KW", "int"], ["stride_h", "int"], ["stride_w", "int"], ["pad_top", "int"], ["pad_bottom", "int"], ["pad_left", "int"], ["pad_right", "int"]],
  dusa_conv2d_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["B", "int"], ["IC", "int"], ["H", "int"], ["W", "int"], ["OC", "int"], ["KH", "int"], ["KW", "int"], ["stride_h", "int"], ["stride_w", "int"], ["pad_top", "int"], ["pad_bottom", "int"], ["pad_left", "int"], ["pad_right", "int"]],
  dusa_dwconv2d_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["bias", "const float*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["K", "int"]],
  dusa_dwconv2d_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dweight", "float*"], ["dbias", "float*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["weight", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["K", "int"]],
  dusa_nchw_to_nhwc: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"]],
  dusa_nhwc_to_nchw: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"]],
  dusa_patchify_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["P", "int"]],
  dusa_patchify_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["P", "int"]],
  dusa_unpatchify_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["P", "int"]],
  dusa_unpatchify_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["P", "int"]],
  dusa_avgpool_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["HW", "int"]],
  dusa_avgpool_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["B", "int"], ["C", "int"], ["HW", "int"]],
  dusa_upsample2x_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"]],
  dusa_upsample2x_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"]],
  dusa_resize_bilinear: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["OH", "int"], ["OW", "int"]],
  dusa_pad2d_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["top", "int"], ["bottom", "int"], ["left", "int"], ["right", "int"]],
  dusa_pad2d_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["B", "int"], ["C", "int"], ["H", "int"], ["W", "int"], ["top", "int"], ["bottom", "int"], ["left", "int"], ["right", "int"]],
  dusa_attention_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["lse", "float*"], ["q", "const dusa_act*"], ["k", "const dusa_act*"], ["v", "const dusa_act*"], ["B", "int"], ["T", "int"], ["NH", "int"], ["HD", "int"], ["row_stride", "int"]],
  dusa_attention_backward: [["ctx", "dusa_ctx*"], ["dq", "dusa_act*"], ["dk", "dusa_act*"], ["dv", "dusa_act*"], ["dout", "const dusa_act*"], ["q", "const dusa_act*"], ["k", "const dusa_act*"], ["v", "const dusa_act*"], ["out", "const dusa_act*"], ["lse", "const float*"], ["B", "int"], ["T", "int"], ["NH", "int"], ["HD", "int"], ["row_stride", "int"]],
  dusa_softmax_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["N", "int"], ["C", "int"], ["temperature", "float"]],
  dusa_softmax_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["out", "const dusa_act*"], ["N", "int"], ["C", "int"], ["temperature", "float"]],
  dusa_l2norm_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["norm", "float*"], ["in", "const dusa_act*"], ["N", "int"], ["C", "int"], ["eps", "float"]],
  dusa_l2norm_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["in", "const dusa_act*"], ["norm", "const float*"], ["N", "int"], ["C", "int"], ["eps", "float"]],
  dusa_cross_entropy_forward: [["ctx", "dusa_ctx*"], ["loss", "float*"], ["logits", "const dusa_act*"], ["labels", "const int32_t*"], ["N", "int"], ["C", "int"]],
  dusa_cross_entropy_backward: [["ctx", "dusa_ctx*"], ["dlogits", "dusa_act*"], ["logits", "const dusa_act*"], ["labels", "const int32_t*"], ["N", "int"], ["C", "int"], ["dloss", "float"]],
  dusa_entropy_forward: [["ctx", "dusa_ctx*"], ["loss", "float*"], ["logits", "const dusa_act*"], ["N", "int"], ["C", "int"]],
  dusa_entropy_backward: [["ctx", "dusa_ctx*"], ["dlogits", "dusa_act*"], ["logits", "const dusa_act*"], ["N", "int"], ["C", "int"], ["dloss", "float"]],
  dusa_argmax: [["ctx", "dusa_ctx*"], ["out", "int32_t*"], ["in", "const dusa_act*"], ["N", "int"], ["C", "int"]],
  dusa_embedding_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["ids", "const int32_t*"], ["table", "const dusa_act*"], ["N", "int"], ["C", "int"], ["V", "int"]],
  dusa_embedding_backward: [["ctx", "dusa_ctx*"], ["dtable", "float*"], ["dout", "const dusa_act*"], ["ids", "const int32_t*"], ["N", "int"], ["C", "int"], ["V", "int"]],
  dusa_timestep_embedding: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["t", "const float*"], ["N", "int"], ["dim", "int"], ["max_period", "float"]],
  dusa_select_classes: [["ctx", "dusa_ctx*"], ["selected", "int32_t*"], ["normed", "const dusa_act*"], ["logits", "const dusa_act*"], ["B", "int"], ["C", "int"], ["topk", "int"], ["rand_budget", "int"], ["temperature", "float"], ["seed", "uint64_t"], ["offset", "uint64_t"]],
  dusa_select_classes_indexed: [["ctx", "dusa_ctx*"], ["selected", "int32_t*"], ["normed", "const dusa_act*"], ["logits", "const dusa_act*"], ["B", "int"], ["C", "int"], ["topk", "int"], ["rand_budget", "int"], ["temperature", "float"], ["seed", "uint64_t"], ["offset", "uint64_t"], ["index", "const int32_t*"], ["stride", "uint64_t"]],
  dusa_gather_forward: [["ctx", "dusa_ctx*"], ["out", "dusa_act*"], ["in", "const dusa_act*"], ["idx", "const int32_t*"], ["B", "int"], ["C", "int"], ["K", "int"]],
  dusa_gather_backward: [["ctx", "dusa_ctx*"], ["din", "dusa_act*"], ["dout", "const dusa_act*"], ["idx", "const int32_t*"], ["B", "int"], ["C", "int"], ["K", "int"]],
  dusa_flow_loss: [["ctx", "dusa_ctx*"], ["terms", "float*"], ["dw", "dusa_act*"], ["dp", "dusa_act*"], ["w", "const dusa_act*"], ["p", "const dusa_act*"], ["target", "const dusa_act*"], ["B", "int"], ["K", "int"], ["D", "int"], ["w_mse", "float"], ["w_norm_l2", "float"], ["w_cosine", "float"], ["grad_scale", "float"]],
  dusa_adam_step: [["ctx", "dusa_ctx*"], ["param", "float*"], ["grad", "const float*"], ["m", "float*"], ["v", "float*"], ["n", "uint64_t"], ["lr", "double"], ["beta1", "double"], ["beta2", "double"], ["eps", "double"], ["weight_decay", "double"], ["decoupled", "int"], ["step", "int"]],
  dusa_sgd_step: [["ctx", "dusa_ctx*"], ["param", "float*"], ["grad", "const float*"], ["momentum_buf", "float*"], ["n", "uint64_t"], ["lr", "double"], ["momentum", "double"], ["dampening", "double"], ["weight_decay", "double"], ["nesterov", "int"], ["step", "int"]],
  dusa_adam_step_counted: [["ctx", "dusa_ctx*"], ["param", "float*"], ["grad", "const float*"], ["m", "float*"], ["v", "float*"], ["n", "uint64_t"], ["lr", "double"], ["beta1", "double"], ["beta2", "double"], ["eps", "double"], ["weight_decay", "double"], ["decoupled", "int"], ["count", "const int32_t*"], ["gate", "const int32_t*"]],
  dusa_sgd_step_counted: [["ctx", "dusa_ctx*"], ["param", "float*"], ["grad", "const float*"], ["momentum_buf", "float*"], ["n", "uint64_t"], ["lr", "double"], ["momentum", "double"], ["dampening", "double"], ["weight_decay", "double"], ["nesterov", "int"], ["count", "const int32_t*"], ["gate", "const int32_t*"]],
  dusa_l2_norm: [["ctx", "dusa_ctx*"], ["out", "float*"], ["x", "const float*"], ["n", "uint64_t"]],
  dusa_clip_by_norm: [["ctx", "dusa_ctx*"], ["x", "float*"], ["n", "uint64_t"], ["max_norm", "float"], ["norm", "float"]],
};

/** Functions taking the context first and returning a status: callable as ctx.call(name, ...args). */
export interface OpArgs {
  dusa_ctx_destroy: [];
  dusa_ctx_set_threads: [threads: number];
  dusa_ctx_get_threads: [out: PtrArg];
  dusa_ctx_set_reference: [reference: number];
  dusa_ctx_set_gemm_path: [path: number];
  dusa_ctx_set_storage: [dtype: number];
  dusa_ctx_get_storage: [out: PtrArg];
  dusa_ctx_set_memory_limit: [bytes: number | bigint];
  dusa_sync: [];
  dusa_graph_begin: [];
  dusa_graph_end: [out: PtrArg];
  dusa_graph_launch: [graph: PtrArg];
  dusa_graph_destroy: [graph: PtrArg];
  dusa_alloc: [out: PtrArg, bytes: number | bigint, tag: number];
  dusa_free: [ptr: PtrArg];
  dusa_memory_stats: [tag: number, current: PtrArg, peak: PtrArg];
  dusa_memory_reset_peak: [];
  dusa_copy_h2d: [dst: PtrArg, src: PtrArg, bytes: number | bigint];
  dusa_copy_d2h: [dst: PtrArg, src: PtrArg, bytes: number | bigint];
  dusa_copy_d2d: [dst: PtrArg, src: PtrArg, bytes: number | bigint];
  dusa_fill: [dst: PtrArg, value: number, n: number | bigint];
  dusa_f32_to_bf16: [out: PtrArg, in_: PtrArg, n: number | bigint];
  dusa_bf16_to_f32: [out: PtrArg, in_: PtrArg, n: number | bigint];
  dusa_profile_enable: [enabled: number];
  dusa_profile_reset: [];
  dusa_profile_count: [out: PtrArg];
  dusa_profile_entry: [index: number, name: PtrArg, name_capacity: number, calls: PtrArg, seconds: PtrArg];
  dusa_rng_uniform: [out: PtrArg, n: number | bigint, seed: number | bigint, offset: number | bigint, low: number, high: number];
  dusa_rng_normal: [out: PtrArg, n: number | bigint, seed: number | bigint, offset: number | bigint, mean: number, std: number];
  dusa_rng_uniform_indexed: [out: PtrArg, n: number | bigint, seed: number | bigint, offset: number | bigint, index: PtrArg, stride: number | bigint, low: number, high: number];
  dusa_rng_normal_indexed: [out: PtrArg, n: number | bigint, seed: number | bigint, offset: number | bigint, index: PtrArg, stride: number | bigint, mean: number, std: number];
  dusa_counter_add: [counter: PtrArg, delta: number, gate: PtrArg];
  dusa_add: [out: PtrArg, a: PtrArg, b: PtrArg, n: number | bigint];
  dusa_axpy: [y: PtrArg, x: PtrArg, alpha: number, n: number | bigint];
  dusa_scale: [x: PtrArg, alpha: number, n: number | bigint];
  dusa_scale_copy: [out: PtrArg, in_: PtrArg, alpha: number, n: number | bigint];
  dusa_channel_scale_forward: [out: PtrArg, in_: PtrArg, scale: PtrArg, rows: number, C: number];
  dusa_channel_scale_backward: [din: PtrArg, dscale: PtrArg, dout: PtrArg, in_: PtrArg, scale: PtrArg, rows: number, C: number];
  dusa_all_finite: [out: PtrArg, x: PtrArg, n: number | bigint];
  dusa_matmul: [C: PtrArg, A: PtrArg, B: PtrArg, M: number, N: number, K: number, trans_a: number, trans_b: number, alpha: number, beta: number];
  dusa_matmul_batched: [C: PtrArg, A: PtrArg, B: PtrArg, batch: number, M: number, N: number, K: number, trans_a: number, trans_b: number, alpha: number, beta: number, stride_a: number | bigint, stride_b: number | bigint, stride_c: number | bigint];
  dusa_linear_forward: [out: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, N: number, IC: number, OC: number];
  dusa_linear_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, N: number, IC: number, OC: number];
  dusa_layernorm_forward: [out: PtrArg, mean: PtrArg, rstd: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, N: number, C: number, eps: number];
  dusa_layernorm_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, mean: PtrArg, rstd: PtrArg, N: number, C: number];
  dusa_layernorm_modulate_forward: [out: PtrArg, mean: PtrArg, rstd: PtrArg, in_: PtrArg, shift: PtrArg, scale: PtrArg, B: number, T: number, C: number, mod_stride: number, eps: number];
  dusa_layernorm_modulate_backward: [din: PtrArg, dshift: PtrArg, dscale: PtrArg, dout: PtrArg, in_: PtrArg, scale: PtrArg, mean: PtrArg, rstd: PtrArg, B: number, T: number, C: number, mod_stride: number];
  dusa_layernorm2d_forward: [out: PtrArg, mean: PtrArg, rstd: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, B: number, C: number, HW: number, eps: number];
  dusa_layernorm2d_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, mean: PtrArg, rstd: PtrArg, B: number, C: number, HW: number];
  dusa_groupnorm_forward: [out: PtrArg, mean: PtrArg, rstd: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, B: number, C: number, HW: number, G: number, eps: number, silu: number];
  dusa_groupnorm_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, mean: PtrArg, rstd: PtrArg, B: number, C: number, HW: number, G: number, silu: number];
  dusa_gelu_forward: [out: PtrArg, in_: PtrArg, n: number | bigint, approximate: number];
  dusa_gelu_backward: [din: PtrArg, dout: PtrArg, in_: PtrArg, n: number | bigint, approximate: number];
  dusa_silu_forward: [out: PtrArg, in_: PtrArg, n: number | bigint];
  dusa_silu_backward: [din: PtrArg, dout: PtrArg, in_: PtrArg, n: number | bigint];
  dusa_gated_residual_forward: [out: PtrArg, x: PtrArg, y: PtrArg, gate: PtrArg, B: number, T: number, C: number, gate_stride: number];
  dusa_gated_residual_backward: [dx: PtrArg, dy: PtrArg, dgate: PtrArg, dout: PtrArg, y: PtrArg, gate: PtrArg, B: number, T: number, C: number, gate_stride: number];
  dusa_conv2d_forward: [out: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, B: number, IC: number, H: number, W: number, OC: number, KH: number, KW: number, stride_h: number, stride_w: number, pad_top: number, pad_bottom: number, pad_left: number, pad_right: number];
  dusa_conv2d_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, B: number, IC: number, H: number, W: number, OC: number, KH: number, KW: number, stride_h: number, stride_w: number, pad_top: number, pad_bottom: number, pad_left: number, pad_right: number];
  dusa_dwconv2d_forward: [out: PtrArg, in_: PtrArg, weight: PtrArg, bias: PtrArg, B: number, C: number, H: number, W: number, K: number];
  dusa_dwconv2d_backward: [din: PtrArg, dweight: PtrArg, dbias: PtrArg, dout: PtrArg, in_: PtrArg, weight: PtrArg, B: number, C: number, H: number, W: number, K: number];
  dusa_nchw_to_nhwc: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number];
  dusa_nhwc_to_nchw: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number];
  dusa_patchify_forward: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number, P: number];
  dusa_patchify_backward: [din: PtrArg, dout: PtrArg, B: number, C: number, H: number, W: number, P: number];
  dusa_unpatchify_forward: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number, P: number];
  dusa_unpatchify_backward: [din: PtrArg, dout: PtrArg, B: number, C: number, H: number, W: number, P: number];
  dusa_avgpool_forward: [out: PtrArg, in_: PtrArg, B: number, C: number, HW: number];
  dusa_avgpool_backward: [din: PtrArg, dout: PtrArg, B: number, C: number, HW: number];
  dusa_upsample2x_forward: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number];
  dusa_upsample2x_backward: [din: PtrArg, dout: PtrArg, B: number, C: number, H: number, W: number];
  dusa_resize_bilinear: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number, OH: number, OW: number];
  dusa_pad2d_forward: [out: PtrArg, in_: PtrArg, B: number, C: number, H: number, W: number, top: number, bottom: number, left: number, right: number];
  dusa_pad2d_backward: [din: PtrArg, dout: PtrArg, B: number, C: number, H: number, W: number, top: number, bottom: number, left: number, right: number];
  dusa_attention_forward: [out: PtrArg, lse: PtrArg, q: PtrArg, k: PtrArg, v: PtrArg, B: number, T: number, NH: number, HD: number, row_stride: number];
  dusa_attention_backward: [dq: PtrArg, dk: PtrArg, dv: PtrArg, dout: PtrArg, q: PtrArg, k: PtrArg, v: PtrArg, out: PtrArg, lse: PtrArg, B: number, T: number, NH: number, HD: number, row_stride: number];
  dusa_softmax_forward: [out: PtrArg, in_: PtrArg, N: number, C: number, temperature: number];
  dusa_softmax_backward: [din: PtrArg, dout: PtrArg, out: PtrArg, N: number, C: number, temperature: number];
  dusa_l2norm_forward: [out: PtrArg, norm: PtrArg, in_: PtrArg, N: number, C: number, eps: number];
  dusa_l2norm_backward: [din: PtrArg, dout: PtrArg, in_: PtrArg, norm: PtrArg, N: number, C: number, eps: number];
  dusa_cross_entropy_forward: [loss: PtrArg, logits: PtrArg, labels: PtrArg, N: number, C: number];
  dusa_cross_entropy_backward: [dlogits: PtrArg, logits: PtrArg, labels: PtrArg, N: number, C: number, dloss: number];
  dusa_entropy_forward: [loss: PtrArg, logits: PtrArg, N: number, C: number];
  dusa_entropy_backward: [dlogits: PtrArg, logits: PtrArg, N: number, C: number, dloss: number];
  dusa_argmax: [out: PtrArg, in_: PtrArg, N: number, C: number];
  dusa_embedding_forward: [out: PtrArg, ids: PtrArg, table: PtrArg, N: number, C: number, V: number];
  dusa_embedding_backward: [dtable: PtrArg, dout: PtrArg, ids: PtrArg, N: number, C: number, V: number];
  dusa_timestep_embedding: [out: PtrArg, t: PtrArg, N: number, dim: number, max_period: number];
  dusa_select_classes: [selected: PtrArg, normed: PtrArg, logits: PtrArg, B: number, C: number, topk: number, rand_budget: number, temperature: number, seed: number | bigint, offset: number | bigint];
  dusa_select_classes_indexed: [selected: PtrArg, normed: PtrArg, logits: PtrArg, B: number, C: number, topk: number, rand_budget: number, temperature: number, seed: number | bigint, offset: number | bigint, index: PtrArg, stride: number | bigint];
  dusa_gather_forward: [out: PtrArg, in_: PtrArg, idx: PtrArg, B: number, C: number, K: number];
  dusa_gather_backward: [din: PtrArg, dout: PtrArg, idx: PtrArg, B: number, C: number, K: number];
  dusa_flow_loss: [terms: PtrArg, dw: PtrArg, dp: PtrArg, w: PtrArg, p: PtrArg, target: PtrArg, B: number, K: number, D: number, w_mse: number, w_norm_l2: number, w_cosine: number, grad_scale: number];
  dusa_adam_step: [param: PtrArg, grad: PtrArg, m: PtrArg, v: PtrArg, n: number | bigint, lr: number, beta1: number, beta2: number, eps: number, weight_decay: number, decoupled: number, step: number];
  dusa_sgd_step: [param: PtrArg, grad: PtrArg, momentum_buf: PtrArg, n: number | bigint, lr: number, momentum: number, dampening: number, weight_decay: number, nesterov: number, step: number];
  dusa_adam_step_counted: [param: PtrArg, grad: PtrArg, m: PtrArg, v: PtrArg, n: number | bigint, lr: number, beta1: number, beta2: number, eps: number, weight_decay: number, decoupled: number, count: PtrArg, gate: PtrArg];
  dusa_sgd_step_counted: [param: PtrArg, grad: PtrArg, momentum_buf: PtrArg, n: number | bigint, lr: number, momentum: number, dampening: number, weight_decay: number, nesterov: number, count: PtrArg, gate: PtrArg];
  dusa_l2_norm: [out: PtrArg, x: PtrArg, n: number | bigint];
  dusa_clip_by_norm: [x: PtrArg, n: number | bigint, max_norm: number, norm: number];
}

export type OpName = keyof OpArgs;
