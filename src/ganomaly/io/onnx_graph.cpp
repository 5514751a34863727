#include "ganomaly/io/onnx_graph.h"

namespace gan {

std::vector<int64_t> onnx_dims_of(const Tensor& t) {
  std::vector<int64_t> d;
  for (int i = 0; i < t.ndim(); ++i) d.push_back(t.size(i));
  return d;
}

void OnnxGraphBuilder::claim(const std::string& name) {
  GANOMALY_CHECK(names_.insert(name).second, "onnx export: the value name '", name, "' is used twice");
}

std::string OnnxGraphBuilder::node(const std::string& op, std::vector<std::string> inputs, const std::string& output,
                                   std::vector<onnx::Attribute> attributes) {
  multi_output_node(op, std::move(inputs), {output}, std::move(attributes));
  return output;
}

void OnnxGraphBuilder::multi_output_node(const std::string& op, std::vector<std::string> inputs,
                                         const std::vector<std::string>& outputs, std::vector<onnx::Attribute> attributes) {
  for (const std::string& o : outputs) claim(o);
  onnx::Node n;
  n.op_type = op;
  n.name = outputs.at(0);
  n.inputs = std::move(inputs);
  n.outputs = outputs;
  n.attributes = std::move(attributes);
  graph.nodes.push_back(std::move(n));
}

std::string OnnxGraphBuilder::constant(const std::string& name, std::vector<int64_t> dims, std::vector<float> values) {
  if (constants_.count(name)) return name;
  claim(name);
  constants_.insert(name);
  onnx::TensorData t;
  t.name = name;
  t.dims = std::move(dims);
  t.floats = std::move(values);
  graph.initializers.push_back(std::move(t));
  return name;
}

std::string OnnxGraphBuilder::constant(const std::string& name, const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return constant(name, onnx_dims_of(host), std::vector<float>(host.data(), host.data() + host.numel()));
}

std::string OnnxGraphBuilder::int64_constant(const std::string& name, std::vector<int64_t> values,
                                             std::vector<int64_t> dims) {
  claim(name);
  onnx::TensorData t;
  t.name = name;
  t.dims = dims.empty() ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : std::move(dims);
  t.type = onnx::DataType::int64;
  t.ints = std::move(values);
  graph.initializers.push_back(std::move(t));
  return name;
}

}  // namespace gan
