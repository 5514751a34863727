// dump_residuals MODEL DATA SEED OUT: the residual maps and scores of a trained model on
// the images its run trained on, its validation set (held-out normals, then their
// pseudo-anomalies) and the test split, for tools/residual_study.py. SEED must be the
// run's, so that the split and the pseudo-anomalies are the run's own.
//
// OUT holds three blocks (train, validation, test), each: int32 n, h, w; int32 labels[n];
// float32 latent[n], feature[n], residual_max[n]; float32 maps[n][h][w] (|x - fake|,
// mean over channels).
// With a fifth argument --features, three more blocks follow (train, validation, test),
// each: int32 n, c, h, w; float32 images[n][c][h][w] (the recipe's normalisation);
// float32 fakes[n][c][h][w]; then for encoder1's and the discriminator's pyramid
// layers after their first two: int32 channels, side; float32 [n][channels][side][side].
#include <cstdio>
#include <fstream>
#include <string>

#include "ganomaly/eval/evaluate.h"
#include "ganomaly/io/model_file.h"
#include "ganomaly/train/train.h"

using namespace gan;

namespace {

void write_block(std::ofstream& out, Ganomaly& model, const Tensor& images, const std::vector<int>& labels) {
  std::vector<float> maps;
  const Scores s = model.score(images, 32, &maps, FeatureScore::compute);
  const int32_t n = static_cast<int32_t>(images.size(0)), h = static_cast<int32_t>(images.size(2)),
                w = static_cast<int32_t>(images.size(3));
  for (int32_t v : {n, h, w}) out.write(reinterpret_cast<const char*>(&v), 4);
  out.write(reinterpret_cast<const char*>(labels.data()), 4 * n);
  for (const auto* v : {&s.latent, &s.feature, &s.residual_max}) out.write(reinterpret_cast<const char*>(v->data()), 4 * n);
  out.write(reinterpret_cast<const char*>(maps.data()), 4 * maps.size());
}

void write_ints(std::ofstream& out, std::initializer_list<int64_t> values) {
  for (int64_t v : values) {
    const int32_t i = static_cast<int32_t>(v);
    out.write(reinterpret_cast<const char*>(&i), 4);
  }
}

void write_tensor(std::ofstream& out, const Tensor& t) {
  const Tensor c = t.to(Device::cpu);
  out.write(reinterpret_cast<const char*>(c.data()), 4 * c.numel());
}

// Activations of `stack` after layers 4 and 7 (the second and third conv blocks' LeakyReLU).
void write_features(std::ofstream& out, Ganomaly& model, const Tensor& images) {
  NoGradGuard no_grad;
  Generator& g = model.scoring_generator();
  g.eval();
  model.discriminator.eval();
  const Tensor x = pad_to_network(images, model.config);
  write_ints(out, {x.size(0), x.size(1), x.size(2), x.size(3)});
  write_tensor(out, x);
  write_tensor(out, g.run(x).fake);
  for (nn::Sequential* stack : {g.encoder1.get(), model.discriminator.features.get()}) {
    const Tensor a = stack->forward_range(x, 0, 5), b = stack->forward_range(a, 5, 8);
    for (const Tensor& t : {a, b}) {
      write_ints(out, {t.size(1), t.size(2)});
      write_tensor(out, t);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool features = argc == 6 && std::string(argv[5]) == "--features";
  if (argc != 5 && !features) {
    std::fprintf(stderr, "usage: dump_residuals MODEL DATA SEED OUT [--features]\n");
    return 2;
  }
  try {
    LoadedModel loaded = load_model(argv[1]);
    Ganomaly& model = *loaded.model;
    const Dataset data = discover_dataset(argv[2]);
    TrainOptions o;
    o.seed = std::stoull(argv[3]);
    const Split split = split_training(data, o);
    const int size = model.config.image_size, channels = model.config.channels;
    const std::string& norm = model.recipe.normalization;
    const Tensor train = load_images(split.train, size, channels, norm);
    std::vector<int> val_labels;
    const Tensor val = with_pseudo_anomalies(load_images(split.validation, size, channels, norm), o.seed, &val_labels);
    const Tensor test = load_images(data.test, size, channels, norm);
    std::ofstream out(argv[4], std::ios::binary);
    write_block(out, model, train, std::vector<int>(train.size(0), 0));
    write_block(out, model, val, val_labels);
    write_block(out, model, test, labels_of(data.test));
    if (features)
      for (const Tensor* t : {&train, &val, &test}) write_features(out, model, *t);
    if (!out) throw Error(str(argv[4], ": cannot write"));
    std::printf("%s: %lld train, %lld validation, %lld test images\n", argv[4], static_cast<long long>(train.size(0)),
                static_cast<long long>(val.size(0)), static_cast<long long>(test.size(0)));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_residuals: %s\n", e.what());
    return 1;
  }
}
