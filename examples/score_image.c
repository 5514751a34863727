/* score_image MODEL IMAGE...: scores image files with the C API of ganomaly.cpp.
 *
 * Uses only <ganomaly/ganomaly.h>; images are decoded with stb_image (Debian libstb).
 * Prints "<path>\t<score>\t<raw score>\t<verdict>" per image. Exit 0 when every image
 * was scored, 1 on any error, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ganomaly/ganomaly.h>
#include <stb/stb_image.h>

/* stbi_load reduces 16-bit samples to 8 bits by dropping the low byte (truncation):
 * 25572 (99.502 grey levels) becomes 99 rather than 100, every pixel up to a level darker.
 * Round instead, v * 255 / 65535 to the nearest, as close as 8 bits get to what
 * ganomaly_infer reads from the same file. */
static stbi_uc* load_8_bit(const char* path, int* width, int* height, int* stored, int channels) {
  stbi_us* wide;
  stbi_uc* narrow;
  size_t i, n;
  if (!stbi_is_16_bit(path)) return stbi_load(path, width, height, stored, channels);
  wide = stbi_load_16(path, width, height, stored, channels);
  if (!wide) return NULL;
  n = (size_t)*width * (size_t)*height * (size_t)channels;
  narrow = (stbi_uc*)malloc(n ? n : 1); /* stbi_image_free, main's, is free() */
  if (narrow)
    for (i = 0; i < n; ++i) narrow[i] = (stbi_uc)(((unsigned long)wide[i] * 255u + 32767u) / 65535u);
  stbi_image_free(wide);
  return narrow;
}

int main(int argc, char** argv) {
  char err[512];
  ganomaly_model* model = NULL;
  int i, failures = 0;
  if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
    printf("score_image (ganomaly %s, ABI %d)\n", ganomaly_version(), ganomaly_abi_version());
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  if (ganomaly_abi_version() != GANOMALY_ABI_VERSION) {
    fprintf(stderr, "score_image: library ABI %d, header ABI %d\n", ganomaly_abi_version(), GANOMALY_ABI_VERSION);
    return 1;
  }
  if (ganomaly_load(argv[1], &model, err, sizeof err) != GANOMALY_OK) {
    fprintf(stderr, "score_image: %s\n", err);
    return 1;
  }
  for (i = 2; i < argc; ++i) {
    int width = 0, height = 0, stored = 0, anomalous = 0, status;
    float score = 0.0f, raw = 0.0f;
    /* Grey stays grey, anything with colour becomes RGB; the model converts further. */
    stbi_uc* pixels;
    if (!stbi_info(argv[i], &width, &height, &stored)) {
      fprintf(stderr, "score_image: %s: not a readable image (%s)\n", argv[i], stbi_failure_reason());
      ++failures;
      continue;
    }
    pixels = load_8_bit(argv[i], &width, &height, &stored, stored <= 2 ? 1 : 3);
    if (!pixels) {
      fprintf(stderr, "score_image: %s: cannot decode (%s)\n", argv[i], stbi_failure_reason());
      ++failures;
      continue;
    }
    status = ganomaly_score(model, pixels, width, height, stored <= 2 ? 1 : 3, 0, &score, &raw, &anomalous,
                            err, sizeof err);
    stbi_image_free(pixels);
    if (status != GANOMALY_OK) {
      fprintf(stderr, "score_image: %s: %s (%s)\n", argv[i], err, ganomaly_status_string(status));
      ++failures;
      continue;
    }
    printf("%s\t%.4f\t%.6g\t%s\n", argv[i], score, raw, anomalous ? "anomalous" : "normal");
  }
  ganomaly_free(model);
  return failures ? 1 : 0;
}
