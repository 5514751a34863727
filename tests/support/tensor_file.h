#pragma once
// Test support: the tensor files the ONNX runners read and write (tools/onnx_run.py,
// tools/onnxruntime/run.js): "GTENSORS", a uint32 count, then per tensor a uint32 name
// length, the name, a uint32 rank, int64 dims and float32 values, all little-endian.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace gan::testing {

struct HostTensor {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

HostTensor host_tensor(const Tensor& t);  // its shape and values, on the host
void write_tensors(const std::string& path, const std::map<std::string, HostTensor>& tensors);
// Fails the test (REQUIRE) on a file that is short, mislabelled or has bytes left over.
std::map<std::string, HostTensor> read_tensors(const std::string& path);

}  // namespace gan::testing
