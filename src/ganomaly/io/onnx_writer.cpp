#include "ganomaly/io/onnx_writer.h"

#include <cstring>

#include "tensor/check.h"

namespace gan::onnx {

namespace {

// Wire types.
constexpr int kVarint = 0, kLengthDelimited = 2, kFixed32 = 5;

// The little-endian bytes of each value, whatever the host's byte order.
std::string little_endian(const float* v, size_t n) {
  std::string out(4 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
  }
  return out;
}

std::string little_endian(const int64_t* v, size_t n) {
  std::string out(8 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bits = static_cast<uint64_t>(v[i]);
    for (int b = 0; b < 8; ++b) out[8 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);
  }
  return out;
}

}  // namespace

std::string varint(uint64_t v) {
  std::string out;
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v);
  return out;
}

void ProtoWriter::key(int field, int wire_type) {
  bytes_ += varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

ProtoWriter& ProtoWriter::varint_field(int field, uint64_t v) {
  key(field, kVarint);
  bytes_ += varint(v);
  return *this;
}

ProtoWriter& ProtoWriter::float_field(int field, float v) {
  key(field, kFixed32);
  bytes_ += little_endian(&v, 1);
  return *this;
}

ProtoWriter& ProtoWriter::bytes_field(int field, const std::string& bytes) {
  key(field, kLengthDelimited);
  bytes_ += varint(bytes.size());
  bytes_ += bytes;
  return *this;
}

Attribute Attribute::of(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::int64;
  a.i = v;
  return a;
}

Attribute Attribute::of(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::float32;
  a.f = v;
  return a;
}

Attribute Attribute::of(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::string;
  a.s = v;
  return a;
}

Attribute Attribute::of(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::ints;
  a.ints = std::move(v);
  return a;
}

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9.
std::string encode(const TensorData& t) {
  int64_t count = 1;
  for (int64_t d : t.dims) count *= d;
  const bool is_float = t.type == DataType::float32;
  const size_t values = is_float ? t.floats.size() : t.ints.size();
  GANOMALY_CHECK(count >= 0 && static_cast<size_t>(count) == values, "onnx: tensor '", t.name, "' has ", values,
                 " values for ", count, " elements");
  ProtoWriter w;
  for (int64_t d : t.dims) w.int64_field(1, d);
  w.varint_field(2, static_cast<uint64_t>(t.type));
  w.bytes_field(8, t.name);
  w.bytes_field(9, is_float ? little_endian(t.floats.data(), t.floats.size()) : little_endian(t.ints.data(), t.ints.size()));
  return w.bytes();
}

// AttributeProto: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20.
std::string encode(const Attribute& a) {
  ProtoWriter w;
  w.bytes_field(1, a.name);
  switch (a.type) {
    case AttributeType::float32: w.float_field(2, a.f); break;
    case AttributeType::int64: w.int64_field(3, a.i); break;
    case AttributeType::string: w.bytes_field(4, a.s); break;
    case AttributeType::floats:
      for (float f : a.floats) w.float_field(7, f);
      break;
    case AttributeType::ints:
      for (int64_t i : a.ints) w.int64_field(8, i);
      break;
  }
  w.varint_field(20, static_cast<uint64_t>(a.type));
  return w.bytes();
}

// NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
std::string encode(const Node& n) {
  ProtoWriter w;
  for (const std::string& in : n.inputs) w.bytes_field(1, in);
  for (const std::string& out : n.outputs) w.bytes_field(2, out);
  if (!n.name.empty()) w.bytes_field(3, n.name);
  w.bytes_field(4, n.op_type);
  for (const Attribute& a : n.attributes) w.bytes_field(5, encode(a));
  return w.bytes();
}

// ValueInfoProto: name = 1, type = 2, doc_string = 3. TypeProto: tensor_type = 1;
// TypeProto.Tensor: elem_type = 1, shape = 2; TensorShapeProto: dim = 1;
// Dimension: dim_value = 1, dim_param = 2.
std::string encode(const ValueInfo& v) {
  ProtoWriter shape;
  for (int64_t d : v.dims) {
    ProtoWriter dim;
    if (d >= 0)
      dim.int64_field(1, d);
    else
      dim.bytes_field(2, v.symbol);
    shape.message_field(1, dim);
  }
  ProtoWriter tensor;
  tensor.varint_field(1, static_cast<uint64_t>(v.type)).message_field(2, shape);
  ProtoWriter type;
  type.message_field(1, tensor);
  ProtoWriter w;
  w.bytes_field(1, v.name).message_field(2, type);
  if (!v.doc.empty()) w.bytes_field(3, v.doc);
  return w.bytes();
}

// GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12.
std::string encode(const Graph& g) {
  ProtoWriter w;
  for (const Node& n : g.nodes) w.bytes_field(1, encode(n));
  w.bytes_field(2, g.name);
  for (const TensorData& t : g.initializers) w.bytes_field(5, encode(t));
  if (!g.doc.empty()) w.bytes_field(10, g.doc);
  for (const ValueInfo& v : g.inputs) w.bytes_field(11, encode(v));
  for (const ValueInfo& v : g.outputs) w.bytes_field(12, encode(v));
  return w.bytes();
}

// ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6,
// graph = 7, opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2; the default
// domain is the empty string), metadata_props = 14 (key = 1, value = 2).
std::string encode(const Model& m) {
  ProtoWriter opset;
  opset.bytes_field(1, "").int64_field(2, m.opset);
  ProtoWriter w;
  w.int64_field(1, m.ir_version);
  w.bytes_field(2, m.producer_name);
  w.bytes_field(3, m.producer_version);
  if (!m.doc.empty()) w.bytes_field(6, m.doc);
  w.bytes_field(7, encode(m.graph));
  w.message_field(8, opset);
  for (const auto& [key, value] : m.metadata) {
    ProtoWriter entry;
    entry.bytes_field(1, key).bytes_field(2, value);
    w.message_field(14, entry);
  }
  return w.bytes();
}

}  // namespace gan::onnx
