#pragma once
// A small protobuf writer for the part of ONNX (onnx/onnx.proto, proto2) that an exported
// network needs: a model holding one graph of nodes, float and int64 initializers, and
// typed inputs and outputs. No protobuf library: the wire format is four rules.
//
//   field key     varint((field_number << 3) | wire_type)
//   varint        7 bits a byte, least significant first, high bit = more bytes follow;
//                 a negative int64 is its 64-bit two's complement (10 bytes)
//   wire type 0   varint (int32, int64, enum, bool)
//   wire type 2   varint(length), then the bytes (string, bytes, an embedded message)
//   wire type 5   4 bytes, little-endian (float)
//
// Repeated fields are written one key per element (proto2's default, not packed); every
// reader accepts that. Tensors go as raw_data: the values' little-endian bytes.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gan::onnx {

// The varint bytes of v; an int64 is passed as its two's complement (uint64_t(-1) -> 10 bytes).
std::string varint(uint64_t v);

// Appends fields, in the order written, to a message's bytes.
class ProtoWriter {
 public:
  ProtoWriter& varint_field(int field, uint64_t v);  // wire type 0
  ProtoWriter& int64_field(int field, int64_t v) { return varint_field(field, static_cast<uint64_t>(v)); }
  ProtoWriter& float_field(int field, float v);                     // wire type 5
  ProtoWriter& bytes_field(int field, const std::string& bytes);    // wire type 2 (string, bytes)
  ProtoWriter& message_field(int field, const ProtoWriter& message) { return bytes_field(field, message.bytes()); }
  const std::string& bytes() const { return bytes_; }

 private:
  void key(int field, int wire_type);
  std::string bytes_;
};

// TensorProto.DataType and AttributeProto.AttributeType values used here.
enum class DataType : int { float32 = 1, int64 = 7, boolean = 9 };
enum class AttributeType : int { float32 = 1, int64 = 2, string = 3, floats = 6, ints = 7 };

// A constant (an initializer): float32 or int64 values, stored as raw_data.
struct TensorData {
  std::string name;
  std::vector<int64_t> dims;  // empty: a scalar
  DataType type = DataType::float32;
  std::vector<float> floats;  // type float32
  std::vector<int64_t> ints;  // type int64
};

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::int64;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  static Attribute of(const std::string& name, int64_t v);
  static Attribute of(const std::string& name, float v);
  static Attribute of(const std::string& name, const std::string& v);
  static Attribute of(const std::string& name, std::vector<int64_t> v);
};

struct Node {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
};

// A graph input or output: a tensor of `type` with this shape (no dimensions: a scalar);
// a dimension < 0 is symbolic, named by `symbol` (the batch size N).
struct ValueInfo {
  std::string name;
  std::vector<int64_t> dims;
  DataType type = DataType::float32;
  std::string symbol = "N";
  std::string doc;
};

struct Graph {
  std::string name, doc;
  std::vector<Node> nodes;  // in topological order, as ONNX requires
  std::vector<TensorData> initializers;
  std::vector<ValueInfo> inputs, outputs;
};

struct Model {
  int64_t ir_version = 7;  // ONNX 1.8 and later read it; opset 13 needs IR 7
  int64_t opset = 13;
  std::string producer_name, producer_version, doc;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props
  Graph graph;
};

// Each message's bytes (field numbers as in onnx.proto).
std::string encode(const TensorData& t);
std::string encode(const Attribute& a);
std::string encode(const Node& n);
std::string encode(const ValueInfo& v);
std::string encode(const Graph& g);
std::string encode(const Model& m);  // a whole .onnx file

}  // namespace gan::onnx
