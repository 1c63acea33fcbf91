/* STRIDED_SLICE and TRANSPOSE: out[i0..i4] = in[start + sum(ik * steps[k])], in output order. */
#include <string.h>
#include "tf_slice.h"

/* One body for the three element sizes; T is a constant at each call, so each keeps its own loop. */
#define TF_SLICE_BODY(T)                                                                             \
    const int32_t *d = p->dims, *s = p->steps;                                                       \
    const size_t run = (size_t)d[4] * sizeof(T);                                                     \
    for (int32_t i0 = 0; i0 < d[0]; ++i0) {                                                          \
        for (int32_t i1 = 0; i1 < d[1]; ++i1) {                                                      \
            for (int32_t i2 = 0; i2 < d[2]; ++i2) {                                                  \
                for (int32_t i3 = 0; i3 < d[3]; ++i3) {                                              \
                    const T *src = input + p->start + i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]; \
                    if (s[4] == 1) {                                                                 \
                        memcpy(output, src, run); /* a contiguous run: the common case */            \
                    } else {                                                                         \
                        for (int32_t i4 = 0; i4 < d[4]; ++i4) {                                      \
                            output[i4] = src[i4 * s[4]];                                             \
                        }                                                                            \
                    }                                                                                \
                    output += d[4];                                                                  \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

void tf_slice_s8(const tf_slice_params_t *p, const int8_t *input, int8_t *output)
{
    TF_SLICE_BODY(int8_t)
}

void tf_slice_s16(const tf_slice_params_t *p, const int16_t *input, int16_t *output)
{
    TF_SLICE_BODY(int16_t)
}

void tf_slice_s32(const tf_slice_params_t *p, const int32_t *input, int32_t *output)
{
    TF_SLICE_BODY(int32_t)
}
