// Device discovery, memory, copies and the error check every CUDA call goes through.
#include <string>

#include "tensor/cuda/common.cuh"

namespace gan::cuda {

void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw Error(str("CUDA error: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ") in ", what, " at ",
                  file, ":", line));
}

bool available(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it: asking is not a failure
    if (why) *why = str("no usable CUDA device: ", cudaGetErrorString(status));
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device is visible";
    return false;
  }
  return true;
}

void* allocate(size_t bytes) {
  void* p = nullptr;
  GANOMALY_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void release(void* p) { GANOMALY_CUDA_CHECK(cudaFree(p)); }

void copy_to_device(float* dst, const float* host_src, int64_t count) {
  GANOMALY_CUDA_CHECK(cudaMemcpy(dst, host_src, sizeof(float) * count, cudaMemcpyHostToDevice));
}

void copy_to_host(float* host_dst, const float* src, int64_t count) {
  GANOMALY_CUDA_CHECK(cudaMemcpy(host_dst, src, sizeof(float) * count, cudaMemcpyDeviceToHost));
}

void copy_on_device(float* dst, const float* src, int64_t count) {
  GANOMALY_CUDA_CHECK(cudaMemcpy(dst, src, sizeof(float) * count, cudaMemcpyDeviceToDevice));
}

double* scratch_doubles(int64_t count) {
  static double* buffer = nullptr;
  static int64_t capacity = 0;
  if (count > capacity) {
    if (buffer) GANOMALY_CUDA_CHECK(cudaFree(buffer));
    buffer = nullptr;
    GANOMALY_CUDA_CHECK(cudaMalloc(&buffer, sizeof(double) * count));
    capacity = count;
  }
  return buffer;
}

__global__ void finish_sum_kernel(int64_t parts, const double* partial, double scale, float* out) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < parts; i += blockDim.x) acc += partial[i];
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) out[0] = static_cast<float>(total * scale);
}

}  // namespace gan::cuda
