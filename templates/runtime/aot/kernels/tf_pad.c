/* PAD / PADV2: output rows (the innermost axis) are either all padding or padding, one input row
 * (memcpy) and padding, written in output order as TFLM's PadImpl does. */
#include <string.h>
#include "tf_pad.h"

static int32_t inside(const tf_pad_params_t *p, int axis, int32_t o)
{
    return o >= p->before[axis] && o < p->before[axis] + p->in_dims[axis];
}

#define TF_PAD_FILL(dst, n)                      \
    for (int32_t f_ = 0; f_ < (n); ++f_) {       \
        (dst)[f_] = value;                       \
    }

/* One body for the three element sizes (T is a constant at each call). */
#define TF_PAD_BODY(T)                                                                                 \
    const T value = (T)p->value;                                                                       \
    const int32_t *od = p->out_dims;                                                                   \
    const int32_t left = p->before[4], width = p->in_dims[4], right = od[4] - left - width;            \
    for (int32_t o0 = 0; o0 < od[0]; ++o0) {                                                           \
        for (int32_t o1 = 0; o1 < od[1]; ++o1) {                                                       \
            for (int32_t o2 = 0; o2 < od[2]; ++o2) {                                                   \
                for (int32_t o3 = 0; o3 < od[3]; ++o3) {                                               \
                    if (inside(p, 0, o0) && inside(p, 1, o1) && inside(p, 2, o2) && inside(p, 3, o3)) { \
                        TF_PAD_FILL(output, left)                                                   \
                        memcpy(output + left, input, (size_t)width * sizeof(T));                       \
                        input += width;                                                                \
                        TF_PAD_FILL(output + left + width, right)                                   \
                    } else {                                                                           \
                        TF_PAD_FILL(output, od[4])                                                  \
                    }                                                                                  \
                    output += od[4];                                                                   \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

void tf_pad_s8(const tf_pad_params_t *p, const int8_t *input, int8_t *output)
{
    TF_PAD_BODY(int8_t)
}

void tf_pad_s16(const tf_pad_params_t *p, const int16_t *input, int16_t *output)
{
    TF_PAD_BODY(int16_t)
}

void tf_pad_s32(const tf_pad_params_t *p, const int32_t *input, int32_t *output)
{
    TF_PAD_BODY(int32_t)
}
