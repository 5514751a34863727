/* Links against an installed ganomaly; with a model path, loads it and scores a grey
 * gradient; without, checks the version and error reporting only. */
#include <ganomaly/ganomaly.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  char err[256];
  ganomaly_model* model = NULL;
  int status;
  if (ganomaly_abi_version() != GANOMALY_ABI_VERSION) return 1;
  printf("ganomaly %s\n", ganomaly_version());
  status = ganomaly_load("/nonexistent/model.gnm", &model, err, sizeof err);
  if (status != GANOMALY_ERR_FILE_NOT_FOUND || model != NULL || strstr(err, "not found") == NULL) {
    fprintf(stderr, "unexpected: status %d, message '%s'\n", status, err);
    return 1;
  }
  if (argc > 1) {
    unsigned char pixels[64 * 64];
    static float map[64 * 64];
    float score = -1.0f;
    int i;
    for (i = 0; i < 64 * 64; ++i) pixels[i] = (unsigned char)(i % 64 * 4);
    if (ganomaly_load(argv[1], &model, err, sizeof err) != GANOMALY_OK ||
        ganomaly_score(model, pixels, 64, 64, 1, 0, &score, NULL, NULL, err, sizeof err) != GANOMALY_OK ||
        ganomaly_score_map(model, pixels, 64, 64, 1, 0, NULL, NULL, NULL, map, 64 * 64, err, sizeof err) != GANOMALY_OK) {
      fprintf(stderr, "%s\n", err);
      ganomaly_free(model);
      return 1;
    }
    printf("score %.4f\n", score);
    ganomaly_free(model);
  }
  return 0;
}
