// The C API (ganomaly.h) over the C++ engine. Every entry point catches everything:
// no exception crosses into C. Errors are a status plus a message in the caller's
// buffer; there is no shared error state, so any thread may call any function.
#include "capi/ganomaly.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>
#include <string>

#include "ganomaly/data/dataset.h"
#include "ganomaly/data/image.h"
#include "ganomaly/eval/anomaly_map.h"
#include "ganomaly/eval/calibration.h"
#include "ganomaly/io/model_file.h"
#include "tensor/check.h"
#include "tensor/device.h"

#ifndef GANOMALY_VERSION
#define GANOMALY_VERSION "unknown"
#endif

struct ganomaly_model {
  gan::LoadedModel loaded;
  // Ganomaly::score switches modules to eval mode and runs layers that keep state
  // between their forward steps, so one model runs one forward pass at a time.
  std::mutex forward;
};

namespace {

constexpr int kStatusCount = 6;

void set_error(char* err, size_t err_len, const std::string& message) noexcept {
  if (!err || err_len == 0) return;
  const size_t n = std::min(message.size(), err_len - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

struct Failure {
  int status;
  std::string message;
};

// Runs body(); maps every exception to a status and writes the message.
template <typename Body>
int guarded(const char* function, char* err, size_t err_len, Body body) noexcept {
  try {
    set_error(err, err_len, "");
    body();
    return GANOMALY_OK;
  } catch (const Failure& f) {
    try {
      set_error(err, err_len, std::string(function) + ": " + f.message);
    } catch (...) {
      set_error(err, err_len, function);
    }
    return f.status;
  } catch (const std::bad_alloc&) {
    set_error(err, err_len, std::string(function) + ": out of memory");
    return GANOMALY_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    try {
      set_error(err, err_len, std::string(function) + ": " + e.what());
    } catch (...) {
      set_error(err, err_len, function);
    }
    return GANOMALY_ERR_INTERNAL;
  } catch (...) {
    set_error(err, err_len, std::string(function) + ": unknown error");
    return GANOMALY_ERR_INTERNAL;
  }
}

[[noreturn]] void fail(int status, const std::string& message) { throw Failure{status, message}; }

// 601 luma, as gan::load_image converts RGB to grey.
inline float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

// The 8-bit pixels as gan::load_image would decode the same image file: floats v / 255
// in the model's channel count.
gan::Image to_image(const uint8_t* pixels, int width, int height, int channels, size_t stride, int model_channels) {
  gan::Image image;
  image.width = width;
  image.height = height;
  image.channels = model_channels;
  image.pixels.resize(size_t(width) * height * model_channels);
  const bool colour = channels >= 3;
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = pixels + size_t(y) * stride;
    float* out = &image.pixels[size_t(y) * width * model_channels];
    for (int x = 0; x < width; ++x, out += model_channels) {
      const uint8_t* p = row + size_t(x) * channels;
      const float r = p[0] / 255.0f;
      if (model_channels == 1) {
        out[0] = colour ? luma(r, p[1] / 255.0f, p[2] / 255.0f) : r;
      } else {
        for (int c = 0; c < 3; ++c) out[c] = colour ? p[c] / 255.0f : r;
      }
    }
  }
  return image;
}

// with_decision_threshold on the model's calibration; a bad value is an invalid argument.
void move_threshold(ganomaly_model& model, std::optional<float> raw, std::optional<float> sensitivity) {
  try {
    model.loaded.calibration = gan::with_decision_threshold(model.loaded.calibration, raw, sensitivity);
  } catch (const gan::OptionError& e) {
    fail(GANOMALY_ERR_INVALID_ARGUMENT, e.what());
  }
}

// The arguments every scoring call takes, checked; then the same steps as
// gan::load_images (channels, resize, normalisation), outside the model's lock.
gan::Tensor checked_input(const ganomaly_model* model, const uint8_t* pixels, int width, int height, int channels,
                          size_t stride_bytes) {
  if (!model) fail(GANOMALY_ERR_INVALID_ARGUMENT, "model is NULL");
  if (!pixels) fail(GANOMALY_ERR_INVALID_ARGUMENT, "pixels is NULL");
  if (channels != 1 && channels != 3 && channels != 4)
    fail(GANOMALY_ERR_INVALID_ARGUMENT, gan::str("channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got ", channels));
  if (width <= 0 || height <= 0) fail(GANOMALY_ERR_INVALID_ARGUMENT, gan::str("bad image size ", width, "x", height));
  size_t pixel_count = 0;
  if (__builtin_mul_overflow(size_t(width), size_t(height), &pixel_count) || pixel_count > gan::kDefaultMaxPixels)
    fail(GANOMALY_ERR_INVALID_ARGUMENT,
         gan::str(width, "x", height, " exceeds the limit of ", gan::kDefaultMaxPixels, " pixels"));
  const size_t row = size_t(width) * size_t(channels);
  const size_t stride = stride_bytes == 0 ? row : stride_bytes;
  if (stride < row)
    fail(GANOMALY_ERR_INVALID_ARGUMENT, gan::str("stride_bytes ", stride_bytes, " is less than width * channels = ", row));
  // The image spans (height - 1) * stride + row bytes from `pixels`. A product that wraps
  // around would pass every check above and read outside the caller's buffer; no real
  // buffer is larger than PTRDIFF_MAX bytes or runs past the end of the address space.
  size_t last_row_offset = 0, span = 0;
  if (__builtin_mul_overflow(size_t(height - 1), stride, &last_row_offset) ||
      __builtin_add_overflow(last_row_offset, row, &span) || span > size_t(PTRDIFF_MAX) ||
      reinterpret_cast<uintptr_t>(pixels) > UINTPTR_MAX - span)
    fail(GANOMALY_ERR_INVALID_ARGUMENT, gan::str("stride_bytes ", stride_bytes, " with height ", height,
                                                 ": the image would span more bytes than any buffer can hold"));
  const gan::Ganomaly& net = *model->loaded.model;
  const std::string& normalization = net.recipe.normalization;
  if (normalization != "tanh" && normalization != "imagenet")
    fail(GANOMALY_ERR_BAD_MODEL, "unknown normalization '" + normalization + "'");
  return gan::model_inputs(net, {to_image(pixels, width, height, channels, stride, net.config.channels)});
}

// The score outputs a caller asked for (each may be NULL).
void set_outputs(const gan::Verdict& verdict, float* score, float* raw_score, int* is_anomalous) {
  if (score) *score = verdict.normalised;
  if (raw_score) *raw_score = verdict.raw;
  if (is_anomalous) *is_anomalous = verdict.anomalous ? 1 : 0;
}

}  // namespace

extern "C" {

const char* ganomaly_version(void) { return GANOMALY_VERSION; }

int ganomaly_abi_version(void) { return GANOMALY_ABI_VERSION; }

const char* ganomaly_status_string(int status) {
  static const char* const names[kStatusCount] = {"ok",          "invalid argument", "file not found",
                                                  "bad model file", "out of memory",  "internal error"};
  return status >= 0 && status < kStatusCount ? names[status] : "unknown status";
}

int ganomaly_load(const char* path, ganomaly_model** out_model, char* err, size_t err_len) {
  if (out_model) *out_model = nullptr;
  return guarded("ganomaly_load", err, err_len, [&] {
    if (!out_model) fail(GANOMALY_ERR_INVALID_ARGUMENT, "out_model is NULL");
    if (!path) fail(GANOMALY_ERR_INVALID_ARGUMENT, "path is NULL");
    // The GEMM kernel set is chosen here, not at the first score: a bad GANOMALY_KERNELS
    // is reported by this call, and scoring threads never race to choose it.
    gan::gemm_kernel_set();
    if (!*path) fail(GANOMALY_ERR_INVALID_ARGUMENT, "path is empty");
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) fail(GANOMALY_ERR_FILE_NOT_FOUND, std::string(path) + ": file not found");
    if (std::filesystem::is_directory(status))
      fail(GANOMALY_ERR_FILE_NOT_FOUND, std::string(path) + ": is a directory, not a model file");
    auto model = std::make_unique<ganomaly_model>();
    try {
      model->loaded = gan::load_model(path);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      fail(GANOMALY_ERR_BAD_MODEL, e.what());
    }
    model->loaded.tensors.clear();  // kept by load_model for resuming training only
    model->loaded.tensors.shrink_to_fit();
    *out_model = model.release();
  });
}

int ganomaly_score(const ganomaly_model* model, const uint8_t* pixels, int width, int height, int channels,
                   size_t stride_bytes, float* score, float* raw_score, int* is_anomalous, char* err,
                   size_t err_len) {
  return guarded("ganomaly_score", err, err_len, [&] {
    const gan::Tensor input = checked_input(model, pixels, width, height, channels, stride_bytes);
    // ganomaly_model is opaque to C, which hands it back as const; the forward pass
    // changes module state under the model's own mutex.
    auto& m = const_cast<ganomaly_model&>(*model);
    const gan::Calibration& calibration = m.loaded.calibration;
    gan::Decided decided;
    {
      std::lock_guard<std::mutex> lock(m.forward);
      decided = gan::score_and_decide(*m.loaded.model, calibration, input, calibration.feature_needed());
    }
    set_outputs(decided.verdicts.at(0), score, raw_score, is_anomalous);
  });
}

int ganomaly_score_map(const ganomaly_model* model, const uint8_t* pixels, int width, int height, int channels,
                       size_t stride_bytes, float* score, float* raw_score, int* is_anomalous, float* map,
                       size_t map_len, char* err, size_t err_len) {
  return guarded("ganomaly_score_map", err, err_len, [&] {
    const gan::Tensor input = checked_input(model, pixels, width, height, channels, stride_bytes);
    if (!map) fail(GANOMALY_ERR_INVALID_ARGUMENT, "map is NULL");
    if (map_len < size_t(width) * size_t(height))
      fail(GANOMALY_ERR_INVALID_ARGUMENT, gan::str("map_len ", map_len, " is less than width * height = ",
                                                   size_t(width) * size_t(height)));
    // ganomaly_model is opaque to C, which hands it back as const; the forward pass
    // changes module state under the model's own mutex.
    auto& m = const_cast<ganomaly_model&>(*model);
    const gan::Calibration& calibration = m.loaded.calibration;
    gan::ScoredMaps scored;
    {
      std::lock_guard<std::mutex> lock(m.forward);
      scored = gan::score_with_maps(*m.loaded.model, calibration, input, calibration.feature_needed());
    }
    const std::vector<float> full = gan::resize_map(scored.map(0), static_cast<int>(scored.width),
                                                             static_cast<int>(scored.height), width, height);
    std::copy(full.begin(), full.end(), map);
    set_outputs(scored.verdicts.at(0), score, raw_score, is_anomalous);
  });
}

float ganomaly_map_threshold(const ganomaly_model* model) {
  if (!model || !model->loaded.model) return 0.0f;
  return model->loaded.calibration.threshold;  // one threshold outlines the map and decides
}

int ganomaly_image_size(const ganomaly_model* model) {
  return model && model->loaded.model ? model->loaded.model->config.image_size : 0;
}

int ganomaly_model_channels(const ganomaly_model* model) {
  return model && model->loaded.model ? model->loaded.model->config.channels : 0;
}

float ganomaly_threshold(const ganomaly_model* model) { return model ? model->loaded.calibration.threshold : 0.0f; }

int ganomaly_set_threshold(ganomaly_model* model, float threshold, char* err, size_t err_len) {
  return guarded("ganomaly_set_threshold", err, err_len, [&] {
    if (!model) fail(GANOMALY_ERR_INVALID_ARGUMENT, "model is NULL");
    move_threshold(*model, threshold, std::nullopt);
  });
}

int ganomaly_set_sensitivity(ganomaly_model* model, float sensitivity, char* err, size_t err_len) {
  return guarded("ganomaly_set_sensitivity", err, err_len, [&] {
    if (!model) fail(GANOMALY_ERR_INVALID_ARGUMENT, "model is NULL");
    move_threshold(*model, std::nullopt, sensitivity);
  });
}

void ganomaly_free(ganomaly_model* model) { delete model; }

}  // extern "C"
