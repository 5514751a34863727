#include "ganomaly/data/dataset.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>

#include "tensor/check.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Sub-directories of `dir`, sorted by name, hidden ones skipped.
std::vector<std::string> list_dirs(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] != '.' && is_dir(entry.path())) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> require_images(const fs::path& dir, const std::string& what) {
  GANOMALY_CHECK(is_dir(dir), "dataset: ", dir.string(), ": missing folder (", what, ")");
  auto images = list_images(dir.string());
  GANOMALY_CHECK(!images.empty(), "dataset: ", dir.string(), ": no images (.png .jpg .jpeg .bmp) in ", what);
  return images;
}

// The mask of `image` in `mask_dir`, trying the naming schemes that occur in the wild
// (MVTec's <stem>_mask.png, BTAD's and anomalib-VisA's <stem>.png, BMP variants).
std::string find_mask(const fs::path& mask_dir, const std::string& image) {
  const std::string stem = fs::path(image).stem().string();
  for (const char* suffix : {"_mask.png", ".png", ".bmp", "_mask.bmp"}) {
    fs::path candidate = mask_dir / (stem + suffix);
    if (is_file(candidate)) return candidate.string();
  }
  return "";
}

// mvtec, visa_converted (good = "good") and btad (good = "ok") share one shape:
// train/<good>, test/<good or defect>, ground_truth/<defect>.
Dataset discover_mvtec_like(const fs::path& root, const std::string& format, const std::string& good) {
  Dataset ds;
  ds.root = root.string();
  ds.format = format;
  GANOMALY_CHECK(is_dir(root / "train"), "dataset: ", root.string(), ": no train/ folder (", format,
                 " layout needs train/", good, ")");
  for (const auto& path : require_images(root / "train" / good, format + " training images"))
    ds.train.push_back({path, 0, "good", ""});

  const fs::path test = root / "test";
  GANOMALY_CHECK(is_dir(test), "dataset: ", test.string(), ": missing folder (", format, " test set)");
  auto defects = list_dirs(test);
  GANOMALY_CHECK(!defects.empty(), "dataset: ", test.string(), ": no sub-folders (expected ", good,
                 "/ and defect folders)");
  for (const auto& name : defects) {
    const bool normal = name == good;
    const fs::path mask_dir = root / "ground_truth" / name;
    const bool has_masks = !normal && is_dir(mask_dir);
    for (const auto& path : require_images(test / name, format + " test images")) {
      Sample s{path, normal ? 0 : 1, normal ? "good" : name, ""};
      if (has_masks) {
        s.mask_path = find_mask(mask_dir, path);
        GANOMALY_CHECK(!s.mask_path.empty(), "dataset: no mask for ", path, " in ", mask_dir.string(),
                       " (tried <stem>_mask.png, <stem>.png, <stem>.bmp)");
      }
      ds.test.push_back(s);
    }
  }
  return ds;
}

// One CSV line into fields; double quotes may wrap a field and "" is a literal quote.
std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  GANOMALY_CHECK(!quoted, "dataset: ", where, ": unterminated quoted field");
  for (auto& f : fields) {  // trim spaces around unquoted values
    size_t b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

// VisA: the category folder sits next to split_csv/ in the VisA root; the CSV's paths
// are relative to that root. Reading it directly beats converting to MVTec folders.
Dataset discover_visa(const fs::path& root) {
  const std::string category = root.filename().string();
  const fs::path visa_root = root.has_parent_path() ? root.parent_path() : fs::path(".");
  const fs::path csv = visa_root / "split_csv" / "1cls.csv";
  GANOMALY_CHECK(is_file(csv), "dataset: ", root.string(), ": VisA layout needs the split file ", csv.string());
  std::ifstream in(csv);
  GANOMALY_CHECK(in, "dataset: cannot open ", csv.string());

  Dataset ds;
  ds.root = root.string();
  ds.format = "visa";
  std::string line;
  std::map<std::string, size_t> column;
  const char* needed[] = {"object", "split", "label", "image", "mask"};
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = csv.string() + ":" + std::to_string(line_no);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto fields = split_csv_line(line, where);
    if (column.empty()) {  // header
      for (size_t i = 0; i < fields.size(); ++i) column[lower(fields[i])] = i;
      for (const char* name : needed)
        GANOMALY_CHECK(column.count(name), "dataset: ", where, ": header lacks column '", name,
                       "' (expected object,split,label,image,mask)");
      continue;
    }
    // A header may repeat a name, so count the fields the needed columns reach, not the
    // distinct names.
    size_t reach = 0;
    for (const char* name : needed) reach = std::max(reach, column[name] + 1);
    GANOMALY_CHECK(fields.size() >= reach, "dataset: ", where, ": expected ", reach, " fields, got ", fields.size());
    if (fields[column["object"]] != category) continue;

    const std::string split = lower(fields[column["split"]]);
    const std::string label = lower(fields[column["label"]]);
    int y = -1;
    if (label == "normal" || label == "good") y = 0;
    if (label == "anomaly" || label == "anomalous" || label == "bad") y = 1;
    GANOMALY_CHECK(y >= 0, "dataset: ", where, ": unknown label '", fields[column["label"]],
                   "' (expected normal or anomaly)");
    Sample s{(visa_root / fields[column["image"]]).string(), y, y ? "anomaly" : "good", ""};
    GANOMALY_CHECK(is_file(s.path), "dataset: ", where, ": image ", s.path, " not found");
    if (y == 1 && !fields[column["mask"]].empty()) {
      s.mask_path = (visa_root / fields[column["mask"]]).string();
      GANOMALY_CHECK(is_file(s.mask_path), "dataset: ", where, ": mask ", s.mask_path, " not found");
    }
    if (split == "train") {
      ds.train.push_back(s);
    } else if (split == "test") {
      ds.test.push_back(s);
    } else if (split == "val" || split == "valid" || split == "validation") {
      ds.validation.push_back(s);
    } else {
      throw Error(str("dataset: ", where, ": unknown split '", fields[column["split"]],
                      "' (expected train, test or val)"));
    }
  }
  GANOMALY_CHECK(!column.empty(), "dataset: ", csv.string(), ": empty file");
  GANOMALY_CHECK(!ds.train.empty() || !ds.test.empty(), "dataset: ", csv.string(), ": no rows for object '",
                 category, "'");
  GANOMALY_CHECK(!ds.train.empty(), "dataset: ", csv.string(), ": no train rows for object '", category, "'");
  auto by_path = [](const Sample& a, const Sample& b) { return a.path < b.path; };
  for (auto* split : {&ds.train, &ds.test, &ds.validation}) std::sort(split->begin(), split->end(), by_path);
  return ds;
}

fs::path anomalous_dir(const fs::path& root) {
  const bool a = is_dir(root / "anomalous"), b = is_dir(root / "abnormal");
  GANOMALY_CHECK(!(a && b), "dataset: ", root.string(), ": has both anomalous/ and abnormal/; keep one");
  return a ? root / "anomalous" : b ? root / "abnormal" : fs::path();
}

// A plain folder. Masks are optional per image here: folder data sets are often
// hand-collected and only some anomalies get annotated.
Dataset discover_folder(const fs::path& root) {
  Dataset ds;
  ds.root = root.string();
  ds.format = "folder";
  const fs::path bad = anomalous_dir(root);
  if (!is_dir(root / "normal")) {
    GANOMALY_CHECK(bad.empty(), "dataset: ", root.string(), ": has ", bad.filename().string(),
                   "/ but no normal/ folder");
    for (const auto& path : require_images(root, "the folder of normal images"))
      ds.train.push_back({path, 0, "good", ""});
    return ds;
  }
  auto normals = require_images(root / "normal", "normal images");
  if (is_dir(root / "normal_test")) {
    for (const auto& p : normals) ds.train.push_back({p, 0, "good", ""});
    for (const auto& p : require_images(root / "normal_test", "normal test images"))
      ds.test.push_back({p, 0, "good", ""});
  } else {
    // No separate normal test set: hold out every 5th normal when there are anomalies
    // to test against (anomalib's default test split ratio is 0.2 too).
    for (size_t i = 0; i < normals.size(); ++i) {
      const bool held_out = !bad.empty() && i % 5 == 4;
      (held_out ? ds.test : ds.train).push_back({normals[i], 0, "good", ""});
    }
  }
  if (!bad.empty()) {
    const std::string defect = bad.filename().string();
    const fs::path masks = root / "masks";
    for (const auto& p : require_images(bad, "anomalous images"))
      ds.test.push_back({p, 1, defect, is_dir(masks) ? find_mask(masks, p) : ""});
  }
  return ds;
}

fs::path clean_root(const std::string& root) {
  GANOMALY_CHECK(!root.empty(), "dataset: empty path");
  fs::path p = fs::path(root).lexically_normal();
  // "cat/" normalises to "cat/" with an empty filename; drop it so filename() is "cat".
  if (p.filename().empty() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

}  // namespace

bool is_image_file(const std::string& path) {
  const std::string ext = lower(fs::path(path).extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::vector<std::string> list_images(const std::string& dir, DanglingLinks dangling) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // Hidden files include macOS "._x.png" resource forks, which are not images.
    if (name.empty() || name[0] == '.' || !is_image_file(name)) continue;
    std::error_code ec;
    // A link to nothing would otherwise be skipped without a word: the data set would
    // silently lose the image. Refuse it, as an unreadable image is refused.
    if (entry.is_symlink(ec) && !fs::exists(entry.path(), ec)) {
      if (dangling == DanglingLinks::list) {
        paths.push_back(entry.path().string());
        continue;
      }
      throw Error(str("image: ", entry.path().string(), ": a symbolic link to ", fs::read_symlink(entry.path(), ec).string(),
                      ", which does not exist"));
    }
    if (!is_file(entry.path())) continue;
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string detect_format(const std::string& root_str) {
  const fs::path root = clean_root(root_str);
  std::error_code ec;
  GANOMALY_CHECK(fs::exists(root, ec), "dataset: ", root.string(), ": not found");
  GANOMALY_CHECK(is_dir(root), "dataset: ", root.string(), ": not a folder");
  GANOMALY_CHECK(!is_file(root / "split_csv" / "1cls.csv"), "dataset: ", root.string(),
                 ": this is the VisA root; pass one category, e.g. ", (root / "candle").string());
  if (is_dir(root / "Data" / "Images")) return "visa";
  if (is_dir(root / "train")) {
    if (is_dir(root / "train" / "ok")) return "btad";
    GANOMALY_CHECK(is_dir(root / "train" / "good"), "dataset: ", (root / "train").string(),
                   ": has neither good/ (MVTec, VisA) nor ok/ (BTAD)");
    if (is_dir(root / "test")) {
      auto names = list_dirs(root / "test");
      bool only_good_bad = std::all_of(names.begin(), names.end(),
                                       [](const std::string& n) { return n == "good" || n == "bad"; });
      if (only_good_bad && std::count(names.begin(), names.end(), "bad")) return "visa_converted";
    }
    return "mvtec";
  }
  GANOMALY_CHECK(!is_dir(root / "test"), "dataset: ", root.string(), ": has test/ but no train/ folder");
  GANOMALY_CHECK(!is_dir(root / "Data"), "dataset: ", root.string(),
                 ": has Data/ but no Data/Images (VisA layout)");
  if (is_dir(root / "normal") || !anomalous_dir(root).empty() || !list_images(root.string()).empty())
    return "folder";
  throw Error(str("dataset: ", root.string(),
                  ": no known layout (expected train/ (MVTec, BTAD), Data/Images (VisA), normal/ or images)"));
}

Dataset discover_dataset(const std::string& root_str, const std::string& format) {
  // A misspelt layout is the caller's option, named before the folder is looked at.
  const char* const known[] = {"auto", "mvtec", "btad", "visa", "visa_converted", "folder"};
  if (std::find(std::begin(known), std::end(known), format) == std::end(known))
    throw OptionError("format", str("expected auto, mvtec, btad, visa, visa_converted or folder, got '", format, "'"));
  const std::string fmt = format == "auto" ? detect_format(root_str) : format;
  const fs::path root = clean_root(root_str);
  GANOMALY_CHECK(is_dir(root), "dataset: ", root.string(), ": not found or not a folder");
  if (fmt == "mvtec" || fmt == "visa_converted") return discover_mvtec_like(root, fmt, "good");
  if (fmt == "btad") return discover_mvtec_like(root, fmt, "ok");  // normals in ok/, defects in ko/
  if (fmt == "visa") {
    GANOMALY_CHECK(is_dir(root / "Data" / "Images"), "dataset: ", root.string(),
                   ": VisA layout needs Data/Images inside the category folder");
    return discover_visa(root);
  }
  return discover_folder(root);  // "folder", the last of the known layouts
}

ChannelStatistics imagenet_statistics(int channels) {
  ChannelStatistics s = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  if (channels == 1) {
    s.mean[0] = (0.485f + 0.456f + 0.406f) / 3;
    s.stddev[0] = (0.229f + 0.224f + 0.225f) / 3;
  }
  return s;
}

void normalize_image(const Image& image, const std::string& normalization, float* out) {
  GANOMALY_CHECK(normalization == "imagenet" || normalization == "tanh", "normalize_image: unknown normalization '",
                 normalization, "' (expected imagenet or tanh)");
  const int channels = image.channels;
  GANOMALY_CHECK(channels == 1 || channels == 3, "normalize_image: channels must be 1 or 3, got ", channels);
  const ChannelStatistics s = imagenet_statistics(channels);
  const bool tanh = normalization == "tanh";
  const int64_t plane = int64_t(image.width) * image.height;
  for (int c = 0; c < channels; ++c) {
    float* plane_out = out + c * plane;
    for (int64_t p = 0; p < plane; ++p) {
      const float v = image.pixels[p * channels + c];
      plane_out[p] = tanh ? 2.0f * v - 1.0f : (v - s.mean[c]) / s.stddev[c];
    }
  }
}

PixelNormalization pixel_normalization(const std::string& normalization, int channels) {
  GANOMALY_CHECK(channels == 1 || channels == 3, "pixel_normalization: channels must be 1 or 3, got ", channels);
  if (normalization == "tanh") return {std::vector<float>(channels, 0.5f), std::vector<float>(channels, 0.5f)};
  GANOMALY_CHECK(normalization == "imagenet", "pixel_normalization: unknown normalization '", normalization,
                 "' (expected imagenet or tanh)");
  const ChannelStatistics s = imagenet_statistics(channels);
  return {std::vector<float>(s.mean, s.mean + channels), std::vector<float>(s.stddev, s.stddev + channels)};
}

Tensor load_images(const std::vector<Sample>& samples, int size, int channels, const std::string& normalization,
                   size_t max_pixels) {
  GANOMALY_CHECK(!samples.empty(), "load_images: no samples");
  GANOMALY_CHECK(size > 0, "load_images: bad size ", size);
  GANOMALY_CHECK(channels == 1 || channels == 3, "load_images: channels must be 1 or 3, got ", channels);
  GANOMALY_CHECK(normalization == "imagenet" || normalization == "tanh", "load_images: unknown normalization '",
                 normalization, "' (expected imagenet or tanh)");
  const int64_t n = int64_t(samples.size()), plane = int64_t(size) * size;
  Tensor out = Tensor::empty(Shape{n, channels, size, size});
  float* dst = out.data();

  // Exceptions must not leave an OpenMP region: record each image's error and throw
  // the first (by index, so the message does not depend on thread timing) afterwards.
  std::vector<std::exception_ptr> errors(samples.size());  // rethrown whole: a FieldError stays one
  std::atomic<bool> failed{false};
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
  for (int64_t i = 0; i < n; ++i) {
    if (failed.load(std::memory_order_relaxed)) continue;
    try {
      const Image img = resize_image(load_image(samples[i].path, channels, max_pixels), size, size);
      normalize_image(img, normalization, dst + i * channels * plane);
    } catch (const std::exception&) {
      errors[i] = std::current_exception();
      failed = true;
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::vector<std::vector<uint8_t>> load_masks(const std::vector<Sample>& samples, int size, size_t max_pixels) {
  GANOMALY_CHECK(size > 0, "load_masks: bad size ", size);
  std::vector<std::vector<uint8_t>> masks(samples.size());
  std::vector<std::exception_ptr> errors(samples.size());  // rethrown whole: a FieldError stays one
  std::atomic<bool> failed{false};
  const int64_t n = int64_t(samples.size());
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic)
#endif
  for (int64_t i = 0; i < n; ++i) {
    if (failed.load(std::memory_order_relaxed)) continue;
    const Sample& s = samples[i];
    try {
      if (s.label == 0) {
        masks[i].assign(size_t(size) * size, 0);
      } else if (!s.mask_path.empty()) {
        ImageInfo info = probe_image(s.path);  // the mask must match its image's size
        auto mask = load_mask(s.mask_path, info.width, info.height, s.path, max_pixels);
        masks[i] = resize_mask(mask, info.width, info.height, size, size);
      }
    } catch (const std::exception&) {
      errors[i] = std::current_exception();
      failed = true;
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return masks;
}

}  // namespace gan
