/* Row-band stages (patches.py, #14.3): what the generated stage functions need beside the layers'
 * own kernels. */
#ifndef TF_PATCHES_H
#define TF_PATCHES_H

#include <stdint.h>
#include <string.h>

/* A stage function: GCC would turn tf_band_move's loops back into a call to memmove. */
#define TF_STAGE_ATTRS __attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))

/* Moves the rows a band buffer keeps to its top: n bytes from src down to dst (dst < src, the two
 * may overlap). Four words a pass, all loaded before any is stored, so a forward copy is right over
 * an overlap; no call to the C library's memmove, which on newlib-nano copies byte by byte. */
static inline __attribute__((always_inline)) void tf_band_move(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    if ((((uintptr_t)dst | (uintptr_t)src | (uint32_t)n) & 3u) == 0) {
        for (; i + 16 <= n; i += 16) {
            uint32_t a, b, c, d;
            memcpy(&a, src + i, 4), memcpy(&b, src + i + 4, 4), memcpy(&c, src + i + 8, 4);
            memcpy(&d, src + i + 12, 4);
            memcpy(dst + i, &a, 4), memcpy(dst + i + 4, &b, 4), memcpy(dst + i + 8, &c, 4);
            memcpy(dst + i + 12, &d, 4);
        }
        for (; i < n; i += 4) {
            uint32_t a;
            memcpy(&a, src + i, 4);
            memcpy(dst + i, &a, 4);
        }
        return;
    }
    for (; i < n; ++i) {
        dst[i] = src[i];
    }
}

#endif
