/* score_image MODEL IMAGE...: scores image files with the C API of ganomaly.cpp.
 *
 * Uses only <ganomaly/ganomaly.h>; images are decoded with stb_image (Debian libstb).
 * Prints "<path>\t<score>\t<raw score>\t<verdict>" per image. Exit 0 when every image
 * was scored, 1 on any error, 2 on bad usage. */
#include <stdio.h>
#include <string.h>

#include <ganomaly/ganomaly.h>
#include <stb/stb_image.h>

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
    pixels = stbi_load(argv[i], &width, &height, &stored, stored <= 2 ? 1 : 3);
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
