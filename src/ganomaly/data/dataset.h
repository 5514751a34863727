#pragma once
// Data set discovery (MVTec AD, BTAD, VisA raw and converted, plain folders) and
// batch loading of images and masks into tensors.
//
// Discovery only lists files; it decodes nothing. File lists are sorted so every run
// sees the same order. A layout that is half right fails with one line naming the path
// (or the CSV line) that is wrong.
#include <cstdint>
#include <string>
#include <vector>

#include "ganomaly/data/image.h"
#include "tensor/tensor.h"

namespace gan {

struct Sample {
  std::string path;
  int label = 0;           // 0 normal, 1 anomalous
  std::string defect;      // "good" for normal images, else the defect folder name
  std::string mask_path;   // empty when there is none (always empty for normal images)
};

struct Dataset {
  std::string root, format;
  std::vector<Sample> train, test;
  std::vector<Sample> validation;  // only when the data set ships one
};

// format: "auto", "mvtec", "btad", "visa", "visa_converted" or "folder".
//  mvtec          <root>/train/good, <root>/test/{good,<defect>},
//                 <root>/ground_truth/<defect>/<stem>_mask.png (or <stem>.png)
//  visa_converted the same with test/bad and ground_truth/bad (anomalib's conversion)
//  btad           <root>/train/ok, <root>/test/{ok,ko}, <root>/ground_truth/ko/<stem>.{png,bmp}
//  visa           <root> = <visa>/<category> holding Data/Images; rows of
//                 <visa>/split_csv/1cls.csv whose object is <category>
//  folder         images in <root> (all train), or <root>/normal (train),
//                 <root>/normal_test (test normals; else every 5th normal is held out),
//                 <root>/anomalous or <root>/abnormal (test anomalies),
//                 <root>/masks/<stem>.png or <stem>_mask.png (optional)
Dataset discover_dataset(const std::string& root, const std::string& format = "auto");

// The layout discover_dataset would pick for `root`; throws when none fits.
std::string detect_format(const std::string& root);

// Image files (.png .jpg .jpeg .bmp, any case) directly in `dir`, sorted by name. A
// symbolic link named like an image whose target does not exist is an error (a data set
// must not silently lose an image), or, with DanglingLinks::list, listed like any other
// image, for a caller that reports each unreadable image and goes on (ganomaly_infer).
enum class DanglingLinks { refuse, list };
std::vector<std::string> list_images(const std::string& dir, DanglingLinks dangling = DanglingLinks::refuse);
bool is_image_file(const std::string& path);

// The per-channel mean and standard deviation load_images normalises pixels v in [0, 1]
// with, x = (v - mean) / stdev: "imagenet" uses ImageNet's statistics (a grey image their
// averages); "tanh" is mean 0.5, stdev 0.5, bit for bit 2v - 1 (v - 0.5 rounds as
// 2v - 1 does, halved, and dividing by 0.5 is exact). Read from imagenet_statistics;
// the ONNX export bakes these in.
struct PixelNormalization {
  std::vector<float> mean, stdev;  // one per channel
};
PixelNormalization pixel_normalization(const std::string& normalization, int channels);

// Decodes, resizes to size x size and normalises, in parallel. normalization:
// "imagenet" ((x - mean) / std per channel; grey uses the averaged mean and std) or
// "tanh" (2x - 1, the range of the decoder's Tanh). Returns [N, channels, size, size].
Tensor load_images(const std::vector<Sample>& samples, int size, int channels,
                   const std::string& normalization, size_t max_pixels = kDefaultMaxPixels);

// The "imagenet" normalisation's statistics: ImageNet's per-channel mean and standard
// deviation; a grey image (channels 1) uses their averages. The only copy: loading, the
// C API and the report's way back to [0, 1] all read it.
struct ChannelStatistics {
  float mean[3], stddev[3];
};
ChannelStatistics imagenet_statistics(int channels);
// One image (values in [0, 1], HWC) into planes [C, H, W] in `normalization` ("imagenet"
// or "tanh"), as load_images does it; `out` takes width * height * channels floats.
void normalize_image(const Image& image, const std::string& normalization, float* out);

// Masks at size x size (row-major, 1 = anomalous), one per sample, resized like the
// images. Normal samples get all zeros; an anomalous sample without a mask file gets an
// empty vector (unknown), which pixel metrics must skip.
std::vector<std::vector<uint8_t>> load_masks(const std::vector<Sample>& samples, int size,
                                             size_t max_pixels = kDefaultMaxPixels);

}  // namespace gan
