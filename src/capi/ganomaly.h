/*
 * ganomaly.h: the C API of ganomaly.cpp, for scoring images with a trained model.
 *
 * Pure C (C99), usable from C++; the only header a C program needs. Installed as
 * <ganomaly/ganomaly.h>; link the static library libganomaly.a with a C++ linker
 * (CMake: find_package(ganomaly) and target_link_libraries(app ganomaly::ganomaly)
 * in a project that enables CXX as well as C).
 *
 * Errors: every function that can fail returns a ganomaly_status (0 = success) and,
 * when `err` is not NULL and `err_len` > 0, writes a one-line message into that
 * caller-owned buffer (always NUL-terminated, truncated to fit; "" on success). There
 * is no global or thread-local "last error" state.
 *
 * Threads: a loaded model may be scored from any number of threads at once.
 * Decoding-side work (channel conversion, resize, normalisation) runs in parallel; the
 * network's forward pass is serialised by a mutex inside the model (the engine keeps
 * per-module state during a forward pass), so concurrent calls on one model queue for
 * the network and give exactly the scores of sequential calls. For parallel forward
 * passes, load the model once per thread. The forward pass itself uses OpenMP threads
 * (OMP_NUM_THREADS) when the library was built with OpenMP.
 *
 * No C++ exception ever crosses this API; out-of-memory is reported as a status.
 *
 * Stability: functions are only added, never changed, within one GANOMALY_ABI_VERSION.
 */
#ifndef GANOMALY_CAPI_GANOMALY_H
#define GANOMALY_CAPI_GANOMALY_H

#include <stddef.h>
#include <stdint.h>

#define GANOMALY_VERSION_MAJOR 0
#define GANOMALY_VERSION_MINOR 2
#define GANOMALY_VERSION_PATCH 0
/* Bumped on any incompatible change to this header. */
#define GANOMALY_ABI_VERSION 1

#if defined(_WIN32) && defined(GANOMALY_SHARED)
#define GANOMALY_API __declspec(dllimport)
#elif defined(__GNUC__)
#define GANOMALY_API __attribute__((visibility("default")))
#else
#define GANOMALY_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model: opaque, created by ganomaly_load, released by ganomaly_free. */
typedef struct ganomaly_model ganomaly_model;

typedef enum ganomaly_status {
  GANOMALY_OK = 0,
  GANOMALY_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, bad size, channels or stride */
  GANOMALY_ERR_FILE_NOT_FOUND = 2,   /* the model file does not exist or is not a file */
  GANOMALY_ERR_BAD_MODEL = 3,        /* unreadable, corrupt, truncated or wrong-version model file */
  GANOMALY_ERR_OUT_OF_MEMORY = 4,
  GANOMALY_ERR_INTERNAL = 5          /* anything else; the message says what */
} ganomaly_status;

/* "0.2.0": the library's version (which may differ from this header's macros when a
 * program is linked against another build). Never NULL; static storage. */
GANOMALY_API const char* ganomaly_version(void);
/* GANOMALY_ABI_VERSION of the library; compare with the header's at start-up. */
GANOMALY_API int ganomaly_abi_version(void);
/* A short English name for a status ("invalid argument"); never NULL. */
GANOMALY_API const char* ganomaly_status_string(int status);

/* Loads a model file written by ganomaly_train (model.gnm, or a last.gnm checkpoint).
 * On success *out_model is a new model; on failure it is set to NULL. It also chooses
 * the CPU kernel set: GANOMALY_KERNELS naming one this build or CPU lacks fails here
 * with GANOMALY_ERR_INTERNAL and a message saying so. */
GANOMALY_API int ganomaly_load(const char* path, ganomaly_model** out_model, char* err, size_t err_len);

/* Scores one 8-bit image, exactly as ganomaly_infer scores the same image file:
 * converted to the model's channels (RGB -> grey by ITU-R 601 luma; grey -> RGB by
 * replication; alpha dropped), resized with the same antialiased bilinear filter to the
 * model's image size, normalised as in training.
 *   pixels        interleaved rows, top row first: grey (channels 1), RGB (3) or RGBA (4)
 *   stride_bytes  bytes from one row to the next; 0 means width * channels. Less than
 *                 width * channels, or so large that the image would span more than
 *                 PTRDIFF_MAX bytes or wrap around the address space (SIZE_MAX), is
 *                 GANOMALY_ERR_INVALID_ARGUMENT
 * Outputs (each may be NULL when not wanted):
 *   score         the normalised score in [0, 1]; 0.5 is the calibrated threshold (the
 *                 decision threshold unless ganomaly_set_threshold or
 *                 ganomaly_set_sensitivity moved it: the scale stays)
 *   raw_score     the model's chosen score before normalisation
 *   is_anomalous  1 when raw_score is at or above the model's threshold, else 0 */
GANOMALY_API int ganomaly_score(const ganomaly_model* model, const uint8_t* pixels, int width, int height,
                                int channels, size_t stride_bytes, float* score, float* raw_score,
                                int* is_anomalous, char* err, size_t err_len);

/* Since 0.2.0. Scores one image exactly as ganomaly_score does, and writes its anomaly
 * map: where the image differs from what the model expects, larger = more anomalous,
 * the map ganomaly_infer --maps writes (README, "Where is the defect: anomaly maps"), in
 * the units of raw_score: its largest value is raw_score, so some value is at or above
 * the threshold exactly when is_anomalous is 1. Its shape is the residual
 * |x - reconstruction| standardised as the model's residual score does it (by the
 * nearest training images' residuals, for models trained with residual_nn), smoothed
 * with that score's window, at the model's size, then resized to width x height keeping
 * its largest value, so that map[y * width + x] belongs to the input pixel (x, y).
 *   map      caller-owned buffer of at least width * height floats, row-major
 *   map_len  how many floats `map` holds; less than width * height is an invalid argument
 * The other arguments and outputs are ganomaly_score's. On failure `map` is unchanged. */
GANOMALY_API int ganomaly_score_map(const ganomaly_model* model, const uint8_t* pixels, int width, int height,
                                    int channels, size_t stride_bytes, float* score, float* raw_score,
                                    int* is_anomalous, float* map, size_t map_len, char* err, size_t err_len);
/* Since 0.2.0. Map values at or above this form the region ganomaly_infer's overlay
 * outlines: the decision threshold (ganomaly_threshold), moved with it by
 * ganomaly_set_threshold and ganomaly_set_sensitivity; 0 for NULL. */
GANOMALY_API float ganomaly_map_threshold(const ganomaly_model* model);

/* The side of the square images the network sees (before any padding); 0 for NULL. */
GANOMALY_API int ganomaly_image_size(const ganomaly_model* model);
/* The channels the network was trained on (1 or 3); 0 for NULL. */
GANOMALY_API int ganomaly_model_channels(const ganomaly_model* model);
/* The raw-score decision threshold (as last set, else the calibrated one); 0 for NULL. */
GANOMALY_API float ganomaly_threshold(const ganomaly_model* model);

/* Moves the decision threshold that ganomaly_score's is_anomalous uses, for more or
 * fewer images flagged than the calibrated threshold gives; the normalised score keeps
 * its scale (0.5 at the calibrated threshold). Each call replaces the last:
 *   ganomaly_set_threshold    a raw-score threshold (finite); is_anomalous is then
 *                             raw_score >= threshold
 *   ganomaly_set_sensitivity  in [0, 1], anomalib's post-processor sensitivity: is_anomalous
 *                             when the normalised score is at or above 1 - sensitivity,
 *                             measured from the calibrated threshold; 0.5 restores it,
 *                             higher flags more. (With no spread in the validation scores
 *                             the scale is empty and the threshold stays the calibrated one.)
 * A NULL model, a non-finite threshold or a sensitivity outside [0, 1] is
 * GANOMALY_ERR_INVALID_ARGUMENT, the model left as it was. Not thread-safe: no other call
 * on the model may be running (set it before sharing the model between threads). */
GANOMALY_API int ganomaly_set_threshold(ganomaly_model* model, float threshold, char* err, size_t err_len);
GANOMALY_API int ganomaly_set_sensitivity(ganomaly_model* model, float sensitivity, char* err, size_t err_len);

/* Releases a model; NULL is a no-op. No call on the model may be running. */
GANOMALY_API void ganomaly_free(ganomaly_model* model);

#ifdef __cplusplus
}
#endif

#endif /* GANOMALY_CAPI_GANOMALY_H */
