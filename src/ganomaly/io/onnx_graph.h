#pragma once
// Building an ONNX graph (onnx_writer.h) node by node: the exporter's pieces
// (onnx_export.cpp, onnx_decision.cpp) share one builder, so every value name in the
// graph is used once and a repeated constant is stored once.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "ganomaly/io/onnx_writer.h"
#include "tensor/tensor.h"

namespace gan {

class OnnxGraphBuilder {
 public:
  onnx::Graph graph;

  // One node with one output; returns the output's name. The node is named after it.
  std::string node(const std::string& op, std::vector<std::string> inputs, const std::string& output,
                   std::vector<onnx::Attribute> attributes = {});
  // One node with several outputs (TopK: values and indices).
  void multi_output_node(const std::string& op, std::vector<std::string> inputs, const std::vector<std::string>& outputs,
            std::vector<onnx::Attribute> attributes);

  // A float constant; the same name again (the discriminator's second pass) reuses it.
  std::string constant(const std::string& name, std::vector<int64_t> dims, std::vector<float> values);
  std::string constant(const std::string& name, const Tensor& t);
  std::string scalar(const std::string& name, float value) { return constant(name, {}, {value}); }
  // An int64 constant of these dimensions (a shape, indices, axes); 1-D when dims is empty.
  std::string int64_constant(const std::string& name, std::vector<int64_t> values, std::vector<int64_t> dims = {});

 private:
  void claim(const std::string& name);
  std::set<std::string> names_, constants_;
};

// A tensor's dimensions, as ONNX lists them.
std::vector<int64_t> onnx_dims_of(const Tensor& t);

}  // namespace gan
