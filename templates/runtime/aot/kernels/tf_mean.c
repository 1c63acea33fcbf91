/* MEAN int8/int16 (see tf_mean.h). */
#include "tf_kernels.h"
#include "tf_mean.h"

#define TF_MEAN_KERNEL(suffix, in_t)                                                                      \
    static const in_t *tf_mean_level_##suffix(const tf_mean_params_t *p, int32_t level, const in_t *in,   \
                                              int32_t *acc)                                               \
    {                                                                                                     \
        const int32_t n = p->dim[level], step = p->out_step[level];                                       \
        if (level == p->levels - 1) {                                                                     \
            if (step == 0) {                                                                              \
                uint32_t s = 0;                                                                           \
                for (int32_t i = 0; i < n; ++i) {                                                         \
                    s += (uint32_t)(int32_t)in[i];                                                        \
                }                                                                                         \
                acc[0] = (int32_t)((uint32_t)acc[0] + s);                                                 \
            } else {                                                                                      \
                for (int32_t i = 0; i < n; ++i) {                                                         \
                    acc[i] = (int32_t)((uint32_t)acc[i] + (uint32_t)(int32_t)in[i]);                      \
                }                                                                                         \
            }                                                                                             \
            return in + n;                                                                                \
        }                                                                                                 \
        for (int32_t i = 0; i < n; ++i) {                                                                 \
            in = tf_mean_level_##suffix(p, level + 1, in, acc);                                           \
            acc += step;                                                                                  \
        }                                                                                                 \
        return in;                                                                                        \
    }                                                                                                     \
                                                                                                          \
    void tf_mean_##suffix(const tf_mean_params_t *p, const in_t *input, in_t *output, int32_t *acc)       \
    {                                                                                                     \
        for (int32_t o = 0; o < p->outputs; ++o) {                                                        \
            acc[o] = 0;                                                                                   \
        }                                                                                                 \
        tf_mean_level_##suffix(p, 0, input, acc);                                                         \
        for (int32_t o = 0; o < p->outputs; ++o) {                                                        \
            const int32_t shifted = (int32_t)((uint32_t)acc[o] + (uint32_t)p->sum_offset);                \
            int32_t v = tf_requantize(shifted, p->mult, p->shift) + p->output_offset;                     \
            output[o] = (in_t)(v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v));          \
        }                                                                                                 \
    }

TF_MEAN_KERNEL(s8, int8_t)
TF_MEAN_KERNEL(s16, int16_t)
