// Per-image pictures: thumbnails for every test image, the grid for a few per class.
#include <algorithm>
#include <map>

#include "ganomaly/report/report_internal.h"

namespace gan::report_detail {

namespace {

using GridSlots = std::map<int64_t, std::pair<int, int>>;  // image -> (row, column)
using GridImages = std::map<int64_t, std::array<Image, 3>>;  // input, reconstruction, difference

// Which images go into the grid: good first, then defects by name, up to per_class each.
GridSlots grid_slots(const std::vector<Sample>& samples, int64_t n, const ReportOptions& opt, Pictures& p) {
  std::map<std::string, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < n; ++i) by_class[samples.at(i).defect].push_back(i);
  std::vector<std::string> classes;
  if (by_class.count("good")) classes.push_back("good");
  for (const auto& [name, idx] : by_class)
    if (name != "good") classes.push_back(name);
  GridSlots grid_slot;
  for (size_t r = 0; r < classes.size(); ++r) {
    const auto& idx = by_class[classes[r]];
    const int count = std::min<int>(std::max(1, opt.per_class), static_cast<int>(idx.size()));
    p.rows.push_back({classes[r], 0, count});
    for (int k = 0; k < count; ++k) grid_slot[idx[k]] = {static_cast<int>(r), k};
  }
  return grid_slot;
}

// The grid: one row per class; per image three tiles (input, reconstruction, heat map).
void draw_grid(const GridSlots& grid_slot, const GridImages& grid_images, const ReportOptions& opt, Pictures& p) {
  const int gap = 2, group_gap = 14, row_gap = 10, margin = 6, per_class = std::max(1, opt.per_class);
  int columns = 1;
  for (const auto& r : p.rows) columns = std::max(columns, r.count);
  columns = std::min(columns, per_class);
  const int group_w = 3 * p.tile + 2 * gap;
  p.grid.width = 2 * margin + columns * group_w + (columns - 1) * group_gap;
  p.grid.height = std::max<int>(1, 2 * margin + static_cast<int>(p.rows.size()) * (p.tile + row_gap) - row_gap);
  p.grid.channels = 3;
  p.grid.pixels.assign(size_t(p.grid.width) * p.grid.height * 3, 1.0f);
  for (size_t r = 0; r < p.rows.size(); ++r) p.rows[r].y = margin + static_cast<int>(r) * (p.tile + row_gap);
  for (auto& [index, tiles] : grid_images) {
    const auto [row, col] = grid_slot.at(index);
    const Image parts[3] = {fit(to_rgb(tiles[0]), p.tile), fit(to_rgb(tiles[1]), p.tile),
                            fit(heat_map(tiles[2], p.grid_scale), p.tile)};
    for (int k = 0; k < 3; ++k) {
      const int x0 = margin + col * (group_w + group_gap) + k * (p.tile + gap), y0 = p.rows[row].y;
      for (int y = 0; y < p.tile; ++y)
        for (int x = 0; x < p.tile; ++x)
          for (int ch = 0; ch < 3; ++ch) p.grid.at(x0 + x, y0 + y, ch) = parts[k].at(x, y, ch);
    }
  }
}

}  // namespace

Pictures make_pictures(Ganomaly& model, const Tensor& images, const std::vector<Sample>& samples,
                       const ReportOptions& opt) {
  Pictures p;
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int size = static_cast<int>(std::max(h, w));
  const std::string& norm = model.recipe.normalization;
  // Stored at most at the image's own size (smaller files), shown at thumbnail_size.
  const int thumb = std::min(std::clamp(opt.thumbnail_size, 8, 2 * size), size);
  p.tile = size < 96 ? size * ((96 + size - 1) / size) : std::min(size, 160);
  const GridSlots grid_slot = grid_slots(samples, n, opt, p);

  std::vector<Image> heat_small(n);
  GridImages grid_images;
  const int64_t per = c * h * w, batch = 16;
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    const int64_t b = std::min(batch, n - b0);
    Tensor x = Tensor::empty(Shape{b, c, h, w});
    std::copy(images.data() + b0 * per, images.data() + (b0 + b) * per, x.data());
    const Tensor fake_full = model.reconstruct(x);
    // The network may pad to a power of two: crop back to the image, as Ganomaly::score does.
    const int64_t s = fake_full.size(2), top = (s - h + 1) / 2, left = (s - w + 1) / 2;
    Tensor fake = Tensor::empty(Shape{b, c, h, w});
    for (int64_t i = 0; i < b; ++i)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          std::copy(fake_full.data() + ((i * c + ch) * s + y + top) * s + left,
                    fake_full.data() + ((i * c + ch) * s + y + top) * s + left + w,
                    fake.data() + ((i * c + ch) * h + y) * w);
    for (int64_t i = 0; i < b; ++i) {
      const Image in = tensor_image(x, i, norm), rec = tensor_image(fake, i, norm);
      const Image diff = difference(in, rec);
      p.thumbnail.push_back(png_data_uri(resize_image(in, thumb, thumb)));
      heat_small[b0 + i] = resize_image(diff, thumb, thumb);
      p.thumb_scale = std::max(p.thumb_scale, max_of(heat_small[b0 + i]));
      if (grid_slot.count(b0 + i)) {
        p.grid_scale = std::max(p.grid_scale, max_of(diff));
        grid_images[b0 + i] = {in, rec, diff};
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) p.heat_thumbnail.push_back(png_data_uri(heat_map(heat_small[i], p.thumb_scale)));

  draw_grid(grid_slot, grid_images, opt, p);
  return p;
}

}  // namespace gan::report_detail
