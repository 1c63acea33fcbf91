/* PRELU kernels of tf_prelu.h, bit-exact with TFLM's reference BroadcastPrelu4DSlow. */
#include "tf_kernels.h"
#include "tf_prelu.h"

static inline int32_t tf_prelu_one(const tf_prelu_params_t *p, int32_t x, int32_t a)
{
    int32_t v = x + p->input_offset;
    int32_t y = v >= 0 ? tf_requantize(v, p->multiplier_1, p->shift_1)
                       : tf_requantize(v * (a + p->alpha_offset), p->multiplier_2, p->shift_2);
    y += p->output_offset;
    return y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y);
}

/* The output walked in order; input and alpha through their (broadcast) strides. */
#define TF_PRELU_LOOP(TYPE)                                                                          \
    int32_t o = 0;                                                                                   \
    for (int32_t d0 = 0; d0 < p->dims[0]; ++d0) {                                                    \
        for (int32_t d1 = 0; d1 < p->dims[1]; ++d1) {                                                \
            for (int32_t d2 = 0; d2 < p->dims[2]; ++d2) {                                            \
                const TYPE *x = in + d0 * p->in_strides[0] + d1 * p->in_strides[1] + d2 * p->in_strides[2]; \
                const int8_t *a = alpha + d0 * p->alpha_strides[0] + d1 * p->alpha_strides[1]        \
                                  + d2 * p->alpha_strides[2];                                        \
                for (int32_t d3 = 0; d3 < p->dims[3]; ++d3, ++o) {                                   \
                    out[o] = (TYPE)tf_prelu_one(p, x[d3 * p->in_strides[3]], a[d3 * p->alpha_strides[3]]); \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

void tf_prelu_s8(const tf_prelu_params_t *p, const int8_t *in, const int8_t *alpha, int8_t *out)
{
    TF_PRELU_LOOP(int8_t)
}

void tf_prelu_s16(const tf_prelu_params_t *p, const int16_t *in, const int8_t *alpha, int16_t *out)
{
    TF_PRELU_LOOP(int16_t)
}
