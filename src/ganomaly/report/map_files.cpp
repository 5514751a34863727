#include "ganomaly/report/map_files.h"

#include <filesystem>
#include <map>
#include <set>

#include "ganomaly/io/atomic_file.h"
#include "ganomaly/report/overlay.h"

namespace gan {

namespace {

// The stem with its nearest `depth` parent folders in front ("good_000" at depth 1);
// "." and ".." are no names.
std::string name_at_depth(const std::filesystem::path& path, size_t depth) {
  std::vector<std::string> folders;
  for (const auto& part : path.parent_path().relative_path())
    if (part != "." && part != ".." && !part.empty()) folders.push_back(part.string());
  std::string name = path.stem().string();
  for (size_t d = 0; d < depth && d < folders.size(); ++d) name = folders[folders.size() - 1 - d] + "_" + name;
  return name;
}

size_t folder_count(const std::filesystem::path& path) {
  size_t n = 0;
  for (const auto& part : path.parent_path().relative_path()) n += part != "." && part != ".." && !part.empty();
  return n;
}

}  // namespace

std::vector<std::string> map_file_names(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> p;
  for (const std::string& s : paths) p.push_back(std::filesystem::path(s).lexically_normal());
  // Only inputs of one stem can need folders to tell them apart; any other clash (a
  // stem that looks like another's folder_stem) is numbered below.
  std::map<std::string, std::vector<size_t>> by_stem;
  for (size_t i = 0; i < p.size(); ++i) by_stem[p[i].stem().string()].push_back(i);
  std::vector<std::string> names(p.size());
  for (const auto& [stem, group] : by_stem)
    for (size_t i : group) {
      auto collides = [&](size_t depth) {
        for (size_t j : group)
          if (j != i && name_at_depth(p[j], depth) == name_at_depth(p[i], depth)) return true;
        return false;
      };
      size_t depth = 0;
      while (depth < folder_count(p[i]) && collides(depth)) ++depth;
      names[i] = name_at_depth(p[i], depth);
    }
  // What the folders could not tell apart: numbered in input order.
  std::set<std::string> taken(names.begin(), names.end());
  std::map<std::string, int> seen;
  for (std::string& name : names) {
    if (seen[name]++ == 0) continue;
    std::string numbered;
    for (int k = 2; taken.count(numbered = name + "_" + std::to_string(k)); ++k) {
    }
    taken.insert(numbered);
    name = numbered;
  }
  return names;
}

MapFiles write_map_files(const std::string& dir, const std::string& name, const Image& image, const float* map,
                         float threshold, const std::string& score) {
  MapFiles files{(std::filesystem::path(dir) / (name + "_map.png")).string(),
                 (std::filesystem::path(dir) / (name + "_overlay.png")).string()};
  write_file_atomically(files.map, encode_map_png(map, image.width, image.height, score));
  write_file_atomically(files.overlay, encode_overlay_png(image, map, threshold));
  return files;
}

}  // namespace gan
