#include "ganomaly/io/onnx_decision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/model/residual_neighbours.h"
#include "tensor/number_text.h"

namespace gan {

namespace {

using onnx::Attribute;
using Ints = std::vector<int64_t>;

onnx::ValueInfo output(const std::string& name, Ints dims, const std::string& doc,
                       onnx::DataType type = onnx::DataType::float32) {
  onnx::ValueInfo v;
  v.name = name;
  v.dims = std::move(dims);
  v.type = type;
  v.doc = doc;
  return v;
}

// The mean over every window x window square that fits: [N, 1, S - k + 1, S - k + 1].
std::string window_means(OnnxGraphBuilder& b, const std::string& map, int64_t size, int64_t window,
                         const std::string& name) {
  const int64_t k = clamped_window(size, size, window);
  return b.node("AveragePool", {map}, name, {Attribute::of("kernel_shape", Ints{k, k}), Attribute::of("strides", Ints{1, 1})});
}

// A stored tensor by its name in a state() list (ResidualZ, ResidualNN).
const Tensor& named(const nn::NamedTensors& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return t;
  throw Error(str("onnx export: the residual statistics have no '", name, "'"));
}

// The largest of `means`, one value per image: [N].
std::string largest(OnnxGraphBuilder& b, const std::string& means, const std::string& name) {
  return b.node("ReduceMax", {means}, name, {Attribute::of("axes", Ints{1, 2, 3}), Attribute::of("keepdims", int64_t{0})});
}

// image_key of the images `x` [N, C, S, S]: the mean over cell x cell squares (the rows
// and columns that fill no cell dropped), flattened: [N, K].
std::string thumbnail_key(OnnxGraphBuilder& b, const std::string& x, int64_t size) {
  const int64_t cell = std::max<int64_t>(1, size / 16);
  std::string key = x;
  if (cell > 1)
    key = b.node("AveragePool", {x}, "thumbnail",
                 {Attribute::of("kernel_shape", Ints{cell, cell}), Attribute::of("strides", Ints{cell, cell})});
  return b.node("Flatten", {key}, "thumbnail.key", {Attribute::of("axis", int64_t{1})});
}

// standardise_by_neighbours (residual_neighbours.h) for the `neighbours` stored training
// samples nearest to each image's thumbnail `key` [N, K]: `values` [N, 1, ...] in units of
// the spread of their stored samples `stored` [M, ...] (keys [M, K]); names under `id`.
std::string neighbour_standardised(OnnxGraphBuilder& b, const std::string& id, const Tensor& stored, const Tensor& keys,
                                   float floor, int64_t neighbours, const std::string& key, const std::string& values) {
  // Squared distances to every stored key, from the differences (not |a|^2 - 2ab + |b|^2,
  // which cancels): [N, 1, K] - [M, K] -> [N, M, K] -> [N, M].
  const std::string key3 = b.node("Unsqueeze", {key, b.int64_constant(id + ".axis1", {1})}, id + ".key3");
  const std::string diff = b.node("Sub", {key3, b.constant(id + ".keys", keys)}, id + ".key_difference");
  const std::string sq = b.node("Mul", {diff, diff}, id + ".key_squared");
  const std::string distance = b.node("ReduceSum", {sq, b.int64_constant(id + ".axis2", {2})}, id + ".distance",
                                      {Attribute::of("keepdims", int64_t{0})});
  const int64_t k = std::min<int64_t>(neighbours, stored.size(0));
  // Ties to the lower index, as nearest_keys.
  b.multi_output_node("TopK", {distance, b.int64_constant(id + ".k", {k})}, {id + ".nearest_distance", id + ".nearest"},
                      {Attribute::of("axis", int64_t{1}), Attribute::of("largest", int64_t{0}),
                       Attribute::of("sorted", int64_t{1})});
  // Their samples [N, k, ...]; mean and spread over the k, centred before squaring.
  const std::string near = b.node("Gather", {b.constant(id + ".stored", stored), id + ".nearest"}, id + ".neighbours",
                                  {Attribute::of("axis", int64_t{0})});
  const std::vector<Attribute> over_neighbours{Attribute::of("axes", Ints{1}), Attribute::of("keepdims", int64_t{1})};
  const std::string mean = b.node("ReduceMean", {near}, id + ".mean", over_neighbours);
  const std::string centred = b.node("Sub", {near, mean}, id + ".centred");
  const std::string centred_sq = b.node("Mul", {centred, centred}, id + ".centred_squared");
  const std::string variance = b.node("ReduceMean", {centred_sq}, id + ".variance", over_neighbours);
  const std::string spread = b.node("Sqrt", {variance}, id + ".spread");
  const std::string scale = b.node("Add", {spread, b.scalar(id + ".floor", floor)}, id + ".scale");
  const std::string above = b.node("Sub", {values, mean}, id + ".above_mean");
  return b.node("Div", {above, scale}, id + ".z");
}

// ScoreNormalizer::apply on `raw`: 0.5 at the normaliser's threshold.
std::string normalised(OnnxGraphBuilder& b, const ScoreNormalizer& n, const std::string& raw) {
  const double range = double(n.max) - double(n.min);
  const std::string diff = b.node("Sub", {raw, b.scalar("normalizer.threshold", n.threshold)}, "score.difference");
  if (!(range > 0)) {  // no spread: 1 above the threshold, 0 below, 0.5 at it
    const std::string sign = b.node("Sign", {diff}, "score.sign");
    const std::string shifted = b.node("Add", {sign, b.scalar("one", 1.0f)}, "score.shifted");
    return b.node("Mul", {shifted, b.scalar("half", 0.5f)}, "score");
  }
  const std::string scaled = b.node("Div", {diff, b.scalar("normalizer.range", static_cast<float>(range))}, "score.scaled");
  const std::string centred = b.node("Add", {scaled, b.scalar("half", 0.5f)}, "score.unclipped");
  return b.node("Clip", {centred, b.scalar("zero", 0.0f), b.scalar("one", 1.0f)}, "score");
}

}  // namespace

OnnxDecision add_decision(OnnxGraphBuilder& b, const Ganomaly& model, const Calibration& c,
                          const OnnxNetworkValues& v) {
  OnnxDecision out;
  const int64_t s = v.image_size, p = v.network_size, channels = model.config.channels;
  const Ints per_image{-1}, map_dims{-1, 1, s, s};
  std::map<Score, std::string> scores{{Score::latent, to_string(Score::latent)}};
  if (v.with_features) scores[Score::feature] = to_string(Score::feature);

  // |x - fake| over the padded image: the reconstruction score, and the map, cropped.
  const std::string residual = b.node("Sub", {v.x_network, v.fake_network}, "residual.signed");
  const std::string residual_abs = b.node("Abs", {residual}, "residual");
  scores[Score::reconstruction] = b.node("ReduceMean", {residual_abs}, to_string(Score::reconstruction),
                                         {Attribute::of("axes", Ints{1, 2, 3}), Attribute::of("keepdims", int64_t{0})});
  std::string map = b.node("ReduceMean", {residual_abs}, p != s ? "residual_map.padded" : "residual_map",
                           {Attribute::of("axes", Ints{1}), Attribute::of("keepdims", int64_t{1})});
  if (p != s) {
    const int64_t top = (p - s + 1) / 2;
    map = b.node("Slice", {map, b.int64_constant("map_crop.starts", {top, top}),
                           b.int64_constant("map_crop.ends", {top + s, top + s}), b.int64_constant("map_crop.axes", {2, 3})},
                 "residual_map");
  }

  // The residual scores; each map score's window means are kept for the anomaly map.
  std::map<Score, std::string> means;
  std::string thumbnail;  // the images' thumbnails, made once for both neighbour scores
  auto key = [&] { return thumbnail.empty() ? thumbnail = thumbnail_key(b, v.x, s) : thumbnail; };
  means[Score::residual_max] = window_means(b, map, s, residual_max_window(s, s), "residual_max.window_means");
  scores[Score::residual_max] = largest(b, means[Score::residual_max], to_string(Score::residual_max));
  if (!model.residual_z.empty()) {
    GANOMALY_CHECK(model.residual_z.height() == s && model.residual_z.width() == s, "onnx export: residual statistics of ",
                   model.residual_z.height(), "x", model.residual_z.width(), " for images of ", s, "x", s);
    const nn::NamedTensors state = model.residual_z.state();  // [S, S] each
    const std::string above =
        b.node("Sub", {map, b.constant("residual_z.mean", {1, 1, s, s}, named(state, "mean").to_vector())},
               "residual_z.above_mean");
    const std::string z =
        b.node("Div", {above, b.constant("residual_z.scale", {1, 1, s, s}, named(state, "scale").to_vector())},
               "residual_z.map");
    means[Score::residual_z] = window_means(b, z, s, residual_z_window(s, s), "residual_z.window_means");
    scores[Score::residual_z] = largest(b, means[Score::residual_z], to_string(Score::residual_z));
  }
  if (!model.residual_nn.empty()) {
    GANOMALY_CHECK(model.residual_nn.height() == s && model.residual_nn.width() == s, "onnx export: neighbour residuals of ",
                   model.residual_nn.height(), "x", model.residual_nn.width(), " for images of ", s, "x", s);
    const nn::NamedTensors state = model.residual_nn.state();
    const Tensor& keys = named(state, "keys");  // [M, K]
    GANOMALY_CHECK(static_cast<size_t>(keys.size(1)) == image_key_size(channels, s, s), "onnx export: neighbour thumbnails of ",
                   keys.size(1), " values, expected ", image_key_size(channels, s, s));
    const std::string z = neighbour_standardised(b, "residual_nn", named(state, "maps"), keys, named(state, "floor").item(),
                                                 ResidualNN::kNeighbours, key(), map);
    means[Score::residual_nn] = window_means(b, z, s, residual_z_window(s, s), "residual_nn.window_means");
    scores[Score::residual_nn] = largest(b, means[Score::residual_nn], to_string(Score::residual_nn));
  }
  if (!model.image_z.empty()) {  // the image itself, before padding, against the training normals
    GANOMALY_CHECK(model.image_z.channels() == channels && model.image_z.pixels() == s * s,
                   "onnx export: image statistics of ", model.image_z.channels(), " channels of ", model.image_z.pixels(),
                   " pixels for images of ", channels, "x", s, "x", s);
    const nn::NamedTensors state = model.image_z.state();  // [C, S * S] each
    const Ints image_dims{1, channels, s, s};
    const std::string above =
        b.node("Sub", {v.x, b.constant("image_z.mean", image_dims, named(state, "mean").to_vector())}, "image_z.above_mean");
    const std::string z =
        b.node("Div", {above, b.constant("image_z.scale", image_dims, named(state, "scale").to_vector())}, "image_z.z");
    const std::string z_map = b.node("ReduceMean", {b.node("Abs", {z}, "image_z.abs")}, "image_z.map",
                                     {Attribute::of("axes", Ints{1}), Attribute::of("keepdims", int64_t{1})});
    means[Score::image_z] = window_means(b, z_map, s, residual_z_window(s, s), "image_z.window_means");
    scores[Score::image_z] = largest(b, means[Score::image_z], to_string(Score::image_z));
  }
  if (!model.image_nn.empty()) {  // the image itself against its nearest training normals
    GANOMALY_CHECK(model.image_nn.channels() == channels && model.image_nn.height() == s && model.image_nn.width() == s,
                   "onnx export: neighbour images of ", model.image_nn.channels(), "x", model.image_nn.height(), "x",
                   model.image_nn.width(), " for images of ", channels, "x", s, "x", s);
    const ImageNN& nn = model.image_nn;
    const Tensor stored = Tensor::from_vector(Shape{nn.count(), channels, s, s}, nn.images());
    const Tensor keys = Tensor::from_vector(Shape{nn.count(), int64_t(nn.keys().size()) / nn.count()}, nn.keys());
    const std::string x5 = b.node("Unsqueeze", {v.x, b.int64_constant("image_nn.images_axis", {1})}, "image_nn.images");
    const std::string z = neighbour_standardised(b, "image_nn", stored, keys, nn.floor(), ImageNN::kNeighbours, key(), x5);
    // [N, 1, C, S, S] -> the channel mean of |z|, [N, 1, S, S].
    const std::string z_map = b.node("ReduceMean", {b.node("Abs", {z}, "image_nn.abs")}, "image_nn.map",
                                     {Attribute::of("axes", Ints{2}), Attribute::of("keepdims", int64_t{0})});
    means[Score::image_nn] = window_means(b, z_map, s, residual_z_window(s, s), "image_nn.window_means");
    scores[Score::image_nn] = largest(b, means[Score::image_nn], to_string(Score::image_nn));
  }
  for (const auto& [score, name] : scores)
    if (score != Score::latent && score != Score::feature)  // those two are the network's outputs
      out.outputs.push_back(output(name, per_image, str(to_string(score), " score per image (README.md, --score)")));

  // The fused score: the calibration's parts, added in its (name) order as Calibration::fuse.
  std::string missing_part;
  for (const auto& [part, _] : c.fusion)
    if (!scores.count(part)) missing_part = to_string(part);
  if (!c.fusion.empty() && missing_part.empty()) {
    std::string sum;
    for (const auto& [part, f] : c.fusion) {
      const std::string id = str("fused.", to_string(part));
      const std::string centred = b.node("Sub", {scores[part], b.scalar(id + ".mean", f.mean)}, id + ".centred");
      const std::string unit = b.node("Div", {centred, b.scalar(id + ".stddev", f.stddev)}, id + ".standardised");
      const std::string weighted = b.node("Mul", {unit, b.scalar(id + ".weight", f.weight)}, id + ".weighted");
      sum = sum.empty() ? weighted : b.node("Add", {sum, weighted}, id + ".sum");
    }
    scores[Score::fused] = b.node("Identity", {sum}, to_string(Score::fused));
  }

  // The anomaly map's shape: the residual map the decision reads (map_part_of), its window
  // means spread back over every pixel. ganomaly_infer --maps moves it into the deciding
  // score's units (to_decision_maps); the metadata gives the slope to do the same.
  const MapPart part = map_part_of(c, model);
  const Score map_score = part.score;
  const int64_t k = clamped_window(s, s, map_window(map_score, s, s)), before = (k - 1) / 2;
  Ints rows(s);
  for (int64_t y = 0; y < s; ++y) rows[y] = std::clamp<int64_t>(y - before, 0, s - k);
  const std::string index = b.int64_constant("anomaly_map.squares", rows);
  const std::string by_row = b.node("Gather", {means.at(map_score), index}, "anomaly_map.rows", {Attribute::of("axis", int64_t{2})});
  b.node("Gather", {by_row, index}, "anomaly_map", {Attribute::of("axis", int64_t{3})});
  out.outputs.push_back(output("anomaly_map", map_dims,
                               str("the ", to_string(map_score), " map at the model's size, its largest value the ",
                                   to_string(map_score), " score; ganomaly_infer --maps writes raw_score + map_slope * ",
                                   "(anomaly_map - its largest value), outlined at the decision threshold")));
  out.metadata = {{"map_score", to_string(map_score)}, {"map_slope", exact_text(part.slope)}};

  // The decision, when the graph has the calibration's score.
  if (!scores.count(c.score)) {
    out.missing = c.score == Score::fused && c.fusion.empty()
                      ? "the model's fused score has no fitted parts (a model saved before validation)"
                  : c.score == Score::fused ? str("the fused score needs the ", missing_part, " score, not in this graph")
                                            : str("the model decides with the ", to_string(c.score),
                                                  " score, which this graph does not compute");
    out.metadata.emplace_back("decision_missing", out.missing);
    return out;
  }
  const std::string raw = b.node("Identity", {scores.at(c.score)}, "raw_score");
  normalised(b, c.normalizer, raw);
  // A constant, not an input with a default: ONNX Runtime's JavaScript binding feeds only
  // the graph's true inputs. A caller moves the threshold on raw_score (the metadata's formula).
  b.node("GreaterOrEqual", {raw, b.scalar("decision.threshold", c.threshold)}, "anomalous");
  out.outputs.push_back(output("raw_score", per_image, str("the deciding score (", to_string(c.score), "), raw")));
  out.outputs.push_back(output("score", per_image, "the deciding score normalised as ganomaly_infer prints it: "
                                                   "0.5 at the calibrated threshold, clipped to [0, 1]"));
  out.outputs.push_back(output("anomalous", per_image, "raw_score >= the calibrated threshold (metadata decision_threshold)",
                               onnx::DataType::boolean));
  out.metadata.insert(out.metadata.end(),
                      {{"decision_score", to_string(c.score)},
                       {"decision_threshold", exact_text(c.threshold)},
                       {"decision_normalizer_min", exact_text(c.normalizer.min)},
                       {"decision_normalizer_max", exact_text(c.normalizer.max)},
                       {"decision_normalizer_threshold", exact_text(c.normalizer.threshold)},
                       {"decision_sensitivity_formula", kSensitivityFormula}});
  return out;
}

}  // namespace gan
