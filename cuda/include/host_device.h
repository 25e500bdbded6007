/* host_device.h — DUSA_HOST_DEVICE marks a function both backends compile: host and device code under nvcc,
 * a plain inline function elsewhere. Internal: not part of the ABI. */
#pragma once

#ifdef __CUDACC__
#define DUSA_HOST_DEVICE __host__ __device__ inline
#else
#define DUSA_HOST_DEVICE inline
#endif
