#pragma once
// 16-bit grey PNGs, which stb_image_write cannot write (it writes 8-bit only): the PNG
// container (signature, IHDR, tEXt, IDAT, IEND, each with its CRC-32) written here, the
// pixels compressed by stb_image_write's zlib compressor (stbi_zlib_compress).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gan {

// CRC-32 as PNG and zlib define it (polynomial 0xEDB88320, reflected, inverted).
uint32_t png_crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// A whole PNG file in memory: width x height 16-bit grey samples, row-major; `text`
// becomes tEXt chunks (keyword, Latin-1 text), which any PNG reader may show.
std::string encode_png_grey16(int width, int height, const uint16_t* samples,
                              const std::vector<std::pair<std::string, std::string>>& text = {});

}  // namespace gan
