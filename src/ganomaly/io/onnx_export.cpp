#include "ganomaly/io/onnx_export.h"

#include "ganomaly/data/dataset.h"
#include "ganomaly/io/onnx_decision.h"

namespace gan {

namespace {

using onnx::Attribute;

// A module's own tensor by name ("weight", "running_mean"), or an undefined one.
Tensor own_tensor(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  for (const auto& [n, t] : m.named_buffers())
    if (n == name) return t;
  return Tensor();
}

// The weight a convolution computes with in eval mode: spectral-normalised ones divide
// by sigma as Conv2d::forward does (no power iteration; a fresh estimate starts in
// place, as the first scoring pass would start it).
Tensor effective_weight(nn::Conv2d& conv) {
  if (!conv.spectral_norm()) return conv.weight();
  Tensor u = own_tensor(conv, "weight_u"), v = own_tensor(conv, "weight_v");
  return spectral_normalize(conv.weight(), u, v, /*power_iteration=*/false);
}

// Appends every layer of `stack` to the graph. Weights are named `weights` + the layer's
// index + ".weight" ("G.enc1.0.weight"), values `values` + the index ("D(x).features.2");
// the last layer's output is named `output`.
std::string add_stack(OnnxGraphBuilder& b, nn::Sequential& stack, const std::string& weights, const std::string& values,
                      std::string x, const std::string& output) {
  for (size_t i = 0; i < stack.size(); ++i) {
    nn::Module& m = stack[i];
    const std::string id = weights + std::to_string(i), out = i + 1 == stack.size() ? output : values + std::to_string(i);
    auto bias_input = [&](std::vector<std::string>& inputs) {
      if (const Tensor bias = own_tensor(m, "bias"); bias.defined()) inputs.push_back(b.constant(id + ".bias", bias));
    };
    if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
      const Tensor w = effective_weight(*conv);
      const int64_t k = w.size(2), s = conv->stride, p = conv->padding;
      std::vector<std::string> inputs{x, b.constant(id + ".weight", w)};
      bias_input(inputs);
      x = b.node("Conv", inputs, out,
                 {Attribute::of("kernel_shape", std::vector<int64_t>{k, k}), Attribute::of("strides", std::vector<int64_t>{s, s}),
                  Attribute::of("pads", std::vector<int64_t>{p, p, p, p})});
    } else if (auto* deconv = dynamic_cast<nn::ConvTranspose2d*>(&m)) {
      const Tensor& w = deconv->weight();  // [IC, OC, K, K], as ONNX's ConvTranspose
      const int64_t k = w.size(2), s = deconv->stride, p = deconv->padding;
      std::vector<std::string> inputs{x, b.constant(id + ".weight", w)};
      bias_input(inputs);
      x = b.node("ConvTranspose", inputs, out,
                 {Attribute::of("kernel_shape", std::vector<int64_t>{k, k}), Attribute::of("strides", std::vector<int64_t>{s, s}),
                  Attribute::of("pads", std::vector<int64_t>{p, p, p, p})});
    } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
      // Inference mode: (x - running_mean) / sqrt(running_var + eps) * weight + bias.
      x = b.node("BatchNormalization",
                 {x, b.constant(id + ".weight", own_tensor(m, "weight")), b.constant(id + ".bias", own_tensor(m, "bias")),
                  b.constant(id + ".running_mean", own_tensor(m, "running_mean")),
                  b.constant(id + ".running_var", own_tensor(m, "running_var"))},
                 out, {Attribute::of("epsilon", bn->eps)});
    } else if (auto* leaky = dynamic_cast<nn::LeakyReLU*>(&m)) {
      x = b.node("LeakyRelu", {x}, out, {Attribute::of("alpha", leaky->slope)});
    } else if (dynamic_cast<nn::ReLU*>(&m)) {
      x = b.node("Relu", {x}, out);
    } else if (dynamic_cast<nn::Tanh*>(&m)) {
      x = b.node("Tanh", {x}, out);
    } else if (dynamic_cast<nn::Sigmoid*>(&m)) {
      x = b.node("Sigmoid", {x}, out);
    } else {
      throw Error(str("onnx export: layer ", id, " is of a kind the exporter does not know"));
    }
  }
  return x;
}

// mean((a - b)^2) over every axis but the first: one value per image, [N].
std::string mean_squared_difference(OnnxGraphBuilder& b, const std::string& a, const std::string& c, const std::string& name,
                                    int rank) {
  const std::string d = b.node("Sub", {a, c}, name + ".difference");
  const std::string sq = b.node("Mul", {d, d}, name + ".squared");
  std::vector<int64_t> axes;
  for (int i = 1; i < rank; ++i) axes.push_back(i);
  return b.node("ReduceMean", {sq}, name, {Attribute::of("axes", axes), Attribute::of("keepdims", int64_t{0})});
}

onnx::ValueInfo value_info(const std::string& name, const Tensor& example, const std::string& doc) {
  onnx::ValueInfo v;
  v.name = name;
  v.dims = onnx_dims_of(example);
  v.dims[0] = -1;  // N
  v.doc = doc;
  return v;
}

// Photometric::apply: each image's channels to the reference's mean and spread; a flat
// channel (spread at most kFlatChannel) only shifted. Its output is "x".
std::string add_photometric(OnnxGraphBuilder& b, const Photometric& light, const std::string& in,
                            const std::vector<int64_t>& per_channel) {
  const std::vector<Attribute> per_image_channel{Attribute::of("axes", std::vector<int64_t>{2, 3}),
                                                 Attribute::of("keepdims", int64_t{1})};
  const std::string mean = b.node("ReduceMean", {in}, "photometric.image_mean", per_image_channel);
  const std::string centred = b.node("Sub", {in, mean}, "photometric.centred");
  const std::string squared = b.node("Mul", {centred, centred}, "photometric.centred_squared");
  const std::string spread =
      b.node("Sqrt", {b.node("ReduceMean", {squared}, "photometric.variance", per_image_channel)}, "photometric.spread");
  const std::string flat = b.node("LessOrEqual", {spread, b.scalar("photometric.flat", kFlatChannel)}, "photometric.flat_channel");
  const std::string gain = b.node("Where", {flat, b.scalar("photometric.one", 1.0f),
                                            b.node("Div", {b.constant("photometric.reference_std", per_channel, light.stddev()), spread},
                                                   "photometric.rescale")},
                                  "photometric.gain");
  return b.node("Add", {b.node("Mul", {centred, gain}, "photometric.rescaled"),
                        b.constant("photometric.reference_mean", per_channel, light.mean())},
                "x");
}

}  // namespace

onnx::Model build_onnx_model(Ganomaly& model, const Calibration& calibration, OnnxFeatures features) {
  const ModelConfig& c = model.config;
  const bool with_features = features == OnnxFeatures::always ||
                             (features == OnnxFeatures::automatic && calibration.feature_needed() == FeatureScore::compute);
  NoGradGuard no_grad;
  Generator& g = model.scoring_generator();
  g.eval();
  model.discriminator.eval();

  // The output shapes, from one blank image through the model itself.
  const int s = c.image_size, p = c.network_size();
  const Tensor blank = pad_to_network(Tensor::zeros(Shape{1, c.channels, s, s}).to(model.device()), c);
  const Generator::Output shapes = g.run(blank);
  const Tensor feature_shape = with_features ? model.discriminator.run(blank).features : Tensor();

  OnnxGraphBuilder b;
  // The normalisation load_images applies: (v - mean) / stdev per channel.
  const PixelNormalization norm = pixel_normalization(model.recipe.normalization, c.channels);
  const std::vector<int64_t> per_channel{1, c.channels, 1, 1};
  std::string x = b.node("Sub", {"images", b.constant("pixel_mean", per_channel, norm.mean)}, "images.centred");
  const Photometric& light = model.photometric;
  x = b.node("Div", {x, b.constant("pixel_stdev", per_channel, norm.stdev)}, light.on() ? "x.as_lit" : "x");
  if (light.on()) x = add_photometric(b, light, x, per_channel);
  // Zero padding (in normalised units, as pad_center pads the normalised images), centred.
  const int64_t top = (p - s + 1) / 2, bottom = p - s - top;
  if (p != s)
    x = b.node("Pad", {x, b.int64_constant("padding", {0, 0, top, top, 0, 0, bottom, bottom})}, "x.padded",
               {Attribute::of("mode", std::string("constant"))});

  const std::string x_network = x;
  const std::string z = add_stack(b, *g.encoder1, "G.enc1.", "enc1.", x, "z");
  const std::string fake_network = add_stack(b, *g.decoder, "G.dec.", "dec.", z, p != s ? "fake.padded" : "fake");
  const std::string z_hat = add_stack(b, *g.encoder2, "G.enc2.", "enc2.", fake_network, "z_hat");
  if (p != s)  // the image's own pixels, as the residual scores see them
    b.node("Slice", {fake_network, b.int64_constant("crop.starts", {top, top}), b.int64_constant("crop.ends", {top + s, top + s}),
                     b.int64_constant("crop.axes", {2, 3})},
           "fake");
  mean_squared_difference(b, z, z_hat, to_string(Score::latent), 4);
  if (with_features) {
    add_stack(b, *model.discriminator.features, "D.features.", "D(x).features.", x, "features");
    add_stack(b, *model.discriminator.features, "D.features.", "D(fake).features.", fake_network, "features_fake");
    mean_squared_difference(b, "features", "features_fake", to_string(Score::feature), 4);
  }
  const OnnxDecision decision =
      add_decision(b, model, calibration, {"x", x_network, fake_network, s, p, with_features});

  b.graph.name = "ganomaly_scoring";
  onnx::ValueInfo images;
  images.name = "images";
  images.dims = {-1, c.channels, s, s};
  images.doc = "float32 pixels in [0, 1], N images of C x S x S";
  b.graph.inputs.push_back(images);
  Tensor fake_shape = Tensor::zeros(Shape{1, c.channels, s, s});
  const Tensor per_image = Tensor::zeros(Shape{1});
  b.graph.outputs = {
      value_info("fake", fake_shape, "the reconstruction, in the model's normalisation, cropped to the image"),
      value_info("z", shapes.z, "encoder1(x)"),
      value_info("z_hat", shapes.z_hat, "encoder2(fake)"),
      value_info(to_string(Score::latent), per_image, "latent score: mean((z - z_hat)^2) per image")};
  if (with_features) {
    b.graph.outputs.push_back(value_info("features", feature_shape, "discriminator features of x"));
    b.graph.outputs.push_back(value_info("features_fake", feature_shape, "discriminator features of the reconstruction"));
    b.graph.outputs.push_back(value_info(to_string(Score::feature), per_image, "feature score: mean((features - features_fake)^2) per image"));
  }
  b.graph.outputs.insert(b.graph.outputs.end(), decision.outputs.begin(), decision.outputs.end());
  b.graph.doc = str("GANomaly scoring network: normalisation (", model.recipe.normalization, ")",
                    light.on() ? ", photometric normalisation to the training normals' channel statistics" : "",
                    p != s ? str(", zero padding to ", p, " x ", p) : std::string(),
                    ", encoder1, decoder, encoder2 (", model.ema_decay() > 0 ? "the averaged generator" : "the generator",
                    ")", with_features ? ", the discriminator's features" : "",
                    "; batch norm in inference mode; the residual scores and anomaly map",
                    decision.missing.empty() ? str(", the ", to_string(calibration.score), " score normalised and decided")
                                             : str(" (no decision: ", decision.missing, ")"),
                    ".");

  onnx::Model m;
  m.producer_name = "ganomaly.cpp";
  m.producer_version = GANOMALY_VERSION;
  m.doc = "GANomaly (Akcay et al., ACCV 2018) anomaly scoring network exported by ganomaly_export.";
  m.metadata = {{"normalization", model.recipe.normalization},
                {"image_size", std::to_string(s)},
                {"network_size", std::to_string(p)},
                {"generator_weights", model.ema_decay() > 0 ? str("ema ", model.ema_decay()) : std::string("live")},
                {"calibration_score", to_string(calibration.score)},
                {"photometric", light.on() ? "on" : "off"},
                {"recipe", to_string(model.recipe.name)}};
  m.metadata.insert(m.metadata.end(), decision.metadata.begin(), decision.metadata.end());
  m.graph = std::move(b.graph);
  return m;
}

}  // namespace gan
