// The native layer: contexts, tensors, errors. Everything above it imports from here.
export { Context, type GemmPath, type MemoryStats, type ProfileEntry } from "./context.ts";
export { DusaError } from "./errors.ts";
export { Graph } from "./graph.ts";
export { Tensor, TensorView, elementBytes, numel, formatShape, tags, type Tag, type DType, type HostArray } from "./tensor.ts";
export { fromBf16, roundToBf16, toBf16 } from "./bf16.ts";
export { BackendUnavailable, ensureLibrary, type Backend } from "./build.ts";
export { describeDevice, openContext, parseDevice, tryCudaContext, DEVICES, type Device } from "./device.ts";
