/* FULLY_CONNECTED int8 (see tf_kernels.h for the arithmetic contract). Four output rows at a time
 * share each loaded input word (tf_dot4_s8). */
#include "tf_kernels.h"

static inline int8_t finish(const tf_fc_params_t *p, int32_t acc)
{
    return tf_clamp_s8(tf_requantize(acc, p->multiplier, p->shift) + p->output_offset, p->act_min, p->act_max);
}

void tf_fully_connected_s8(const tf_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * n;
        int8_t *out = output + b * p->out_depth;
        int32_t o = 0;
        for (; o + 4 <= p->out_depth; o += 4) {
            int32_t acc[4] = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
            tf_dot4_s8(in, weights + o * n, n, n, acc);
            for (int k = 0; k < 4; ++k) {
                out[o + k] = finish(p, acc[k]);
            }
        }
        for (; o < p->out_depth; ++o) {
            out[o] = finish(p, tf_dot_s8(in, weights + o * n, n, bias[o]));
        }
    }
}
