#pragma once
// What every .cu of the CUDA backend shares: checked calls, grid-stride launches and a
// deterministic block reduction. Everything runs on the legacy default stream, in order,
// so a cudaMemcpy to the host sees every kernel launched before it.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "tensor/check.h"
#include "tensor/cuda/kernels.h"

namespace gan::cuda {

// Throws gan::Error naming the call, the file and CUDA's own message.
void check(cudaError_t status, const char* what, const char* file, int line);
#define GANOMALY_CUDA_CHECK(call) ::gan::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: a bad configuration shows up here, a fault at the next sync.
#define GANOMALY_CUDA_CHECK_LAUNCH(kernel) ::gan::cuda::check(cudaGetLastError(), kernel, __FILE__, __LINE__)

// A device buffer of at least `count` doubles for reduction partials, reused by every
// reduction (safe: one stream, in order).
double* scratch_doubles(int64_t count);

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // grid-stride loops cover the rest

inline int blocks_for(int64_t n) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)));
}

template <typename F>
__global__ void for_each_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// Calls f(i) for every i in [0, n) on the device.
template <typename F>
void for_each(int64_t n, F f, const char* kernel) {
  if (n <= 0) return;
  for_each_kernel<<<blocks_for(n), kThreads>>>(n, f);
  GANOMALY_CUDA_CHECK_LAUNCH(kernel);
}

// The sum of `value` over the block's threads, in a fixed tree order; every thread gets
// it. blockDim.x must be kThreads. Uses `shared` (kThreads doubles).
__device__ inline double block_sum(double value, double* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();  // the buffer may be reused at once
  return total;
}

template <typename F>
__global__ void partial_sums_kernel(int64_t n, F value, double* partial) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) acc += value(i);
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

__global__ void finish_sum_kernel(int64_t parts, const double* partial, double scale, float* out);

// out[0] = float(scale * sum of value(i) over [0, n)), in double, in an order fixed by n
// alone: the same inputs give the same bits on every run.
template <typename F>
void sum_to_scalar(int64_t n, F value, double scale, float* out, const char* kernel) {
  const int blocks = blocks_for(n);
  double* partial = scratch_doubles(blocks);
  partial_sums_kernel<<<blocks, kThreads>>>(n, value, partial);
  GANOMALY_CUDA_CHECK_LAUNCH(kernel);
  finish_sum_kernel<<<1, kThreads>>>(blocks, partial, scale, out);
  GANOMALY_CUDA_CHECK_LAUNCH(kernel);
}

}  // namespace gan::cuda
