#include "ganomaly/io/model_file.h"

#include "ganomaly/io/checkpoint_io.h"

namespace gan {

nlohmann::json model_config_json(const ModelConfig& c) {
  return {{"image_size", c.image_size},   {"channels", c.channels},         {"n_features", c.n_features},
          {"latent_size", c.latent_size}, {"extra_layers", c.extra_layers}, {"network_size", c.network_size()},
          {"spectral_norm", c.spectral_norm}};
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& file) {
  try {
    ModelConfig c;
    c.image_size = j.at("image_size").get<int>();
    c.channels = j.at("channels").get<int>();
    c.n_features = j.at("n_features").get<int>();
    c.latent_size = j.at("latent_size").get<int>();
    c.extra_layers = j.at("extra_layers").get<int>();
    c.spectral_norm = j.value("spectral_norm", false);  // absent from files before it existed
    c.validate();
    return c;
  } catch (const FieldError& e) {  // still naming the field, so that each caller can show it its way
    std::vector<FieldError::Part> message{str(file, ": bad model config: ")};
    message.insert(message.end(), e.parts().begin(), e.parts().end());
    throw FieldError(e.field(), message);
  } catch (const std::exception& e) {
    throw Error(str(file, ": bad model config: ", e.what()));
  }
}

namespace {

// The networks' convolution weights: the generator's and the discriminator's 4-D tensors.
bool is_convolution_weight(const std::string& name, const Tensor& t) {
  return t.ndim() == 4 && (name.rfind("G.", 0) == 0 || name.rfind("E.", 0) == 0 || name.rfind("D.", 0) == 0);
}

}  // namespace

void save_model(const std::string& path, Ganomaly& model, const Calibration& calibration, const nlohmann::json& info,
                const nlohmann::json& training, const nn::NamedTensors& extra, WeightStorage weights) {
  GANOMALY_CHECK(training.is_null() || weights == WeightStorage::fp32, path,
                 ": a resumable checkpoint keeps float32 weights (fp16 is for model files)");
  CheckpointFile f;
  f.config = {{"kind", "ganomaly.cpp model"},
              {"version", GANOMALY_VERSION},
              {"model", model_config_json(model.config)},
              {"recipe", model.recipe.name},
              {"normalization", model.recipe.normalization},
              {"calibration", calibration.to_json()},
              {"info", info}};
  f.config["ema_decay"] = model.ema_decay();
  // A model file keeps what scoring needs; a resumable one, everything training needs.
  GANOMALY_CHECK(training.is_null() || !model.scoring_only(), path,
                 ": a model loaded for scoring only cannot be saved as a resumable checkpoint");
  for (const auto& t : training.is_null() ? model.scoring_state() : model.state()) f.tensors.push_back(t);
  if (!training.is_null()) {
    nlohmann::json t = training;
    t["model_rng"] = model.rng.state();
    f.config["training"] = t;
    for (const auto& t : nn::add_prefix("optimizer_g.", model.optimizer_g.state())) f.tensors.push_back(t);
    for (const auto& t : nn::add_prefix("optimizer_d.", model.optimizer_d.state())) f.tensors.push_back(t);
  }
  for (const auto& t : extra) f.tensors.push_back(t);
  if (weights == WeightStorage::fp16) {
    f.config["weights"] = weights;
    for (const auto& [name, t] : f.tensors)
      if (is_convolution_weight(name, t)) f.half_precision.insert(name);
  }
  save_checkpoint(path, f);
}

LoadedModel load_model(const std::string& path) {
  CheckpointFile f = load_checkpoint(path);
  LoadedModel out;
  out.config = f.config;
  GANOMALY_CHECK(f.config.is_object() && f.config.value("kind", "") == "ganomaly.cpp model", path,
                 ": not a ganomaly.cpp model (a checkpoint of another kind)");
  const bool resumable = f.config.contains("training");
  float ema_decay = 0.0f;
  try {
    const ModelConfig config = model_config_from_json(f.config.at("model"), path);
    const Recipe recipe = Recipe::of(parse_choice<RecipeName>("recipe", f.config.at("recipe").get<std::string>()));
    out.calibration = Calibration::from_json(f.config.at("calibration"));
    out.model = std::make_unique<Ganomaly>(config, recipe, 0);
    ema_decay = f.config.value("ema_decay", 0.0f);
    if (resumable) out.model->enable_ema(ema_decay);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(str(path, ": bad model config: ", e.what()));
  }
  // A model file, lean or from before lean files (with the live generator too, ignored):
  // the scoring generator alone, so that scoring holds one generator in memory.
  if (!resumable) {
    out.model->load_scoring_state(f.tensors, ema_decay, path);
    out.tensors = std::move(f.tensors);
    return out;
  }
  out.model->load_state(f.tensors, path);
  try {
    out.training = f.config["training"];
    out.model->optimizer_g.load_state(nn::take_prefix("optimizer_g.", f.tensors));
    out.model->optimizer_d.load_state(nn::take_prefix("optimizer_d.", f.tensors));
    out.model->rng.set_state(out.training.at("model_rng").get<std::vector<uint64_t>>());
  } catch (const std::exception& e) {
    throw Error(str(path, ": bad training state: ", e.what()));
  }
  out.tensors = std::move(f.tensors);
  return out;
}

}  // namespace gan
