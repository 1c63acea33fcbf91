/* FULLY_CONNECTED int16 x int8, portable (see tf_fc16.h). TFLM: reference_integer_ops::FullyConnected
 * and FullyConnectedPerChannel with int16 input and an int64 (or int32) accumulator. */
#include "tf_fc16.h"

void tf_fully_connected_s16(const tf_fc16_params_t *p, const int16_t *input, const int8_t *weights,
                            const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * n;
        int16_t *out = output + b * p->out_depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int8_t *w = weights + o * n;
            int64_t acc = bias[o];
            for (int32_t d = 0; d < n; ++d) {
                acc += (int32_t)in[d] * w[d];
            }
            out[o] = tf_fc16_finish(acc, mult[o], shift[o], p->output_offset, p->act_min, p->act_max, p->acc32);
        }
    }
}
