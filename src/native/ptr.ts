// What the FFI layer accepts where the C side takes a pointer: a tensor (anything with .ptr), a typed array
// (host memory), a raw address, or null.
export type PtrArg = { readonly ptr: number } | ArrayBufferView | number | null;
