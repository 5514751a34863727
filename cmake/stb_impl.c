/* stb_image and stb_image_write compiled from Debian's headers, for builds without
 * libstb for the target (GANOMALY_STB_FROM_SOURCE, e.g. cross builds). */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
