/* SVDF, the int8/int16 arithmetic of TFLM's EvalIntegerSvdfReference (svdf_common.cc). */
#include <string.h>
#include "tf_kernels.h"
#include "tf_svdf.h"


int32_t tf_svdf_time_portable(const int16_t *a, const int16_t *b, int32_t n)
{
    uint32_t acc = 0;           /* TFLM's int32 sum; wrapping, as the device's adds */
    for (int32_t j = 0; j < n; ++j) {
        acc += (uint32_t)((int32_t)a[j] * (int32_t)b[j]);
    }
    return (int32_t)acc;
}

void tf_svdf_s8_s16(const tf_svdf_params_t *p, const int8_t *input, const int8_t *weights_feature,
                    const int32_t *feature_bias, const int16_t *weights_time, const int32_t *time_bias,
                    const int32_t *bias, int16_t *state, int32_t *scratch, int8_t *output,
                    tf_svdf_feature_fn feature, tf_svdf_time_fn time)
{
    const int32_t filters = p->filters, memory = p->memory;
    /* the whole state moves one element left (TFLM shifts it as one array; each filter's last slot is
     * then overwritten) */
    memmove(state, state + 1, ((size_t)p->batches * filters * memory - 1) * sizeof(int16_t));
    for (int32_t b = 0; b < p->batches; ++b) {
        int16_t *st = state + (size_t)b * filters * memory;
        feature(input + b * p->input_size, weights_feature, feature_bias, filters, p->input_size, scratch);
        for (int32_t f = 0; f < filters; ++f) {
            int32_t v = tf_requantize(scratch[f], p->mult1, p->shift1);
            v = v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
            st[f * memory + memory - 1] = (int16_t)(p->state_zp + v);   /* int16 wrap, as TFLM's store */
        }
        for (int32_t u = 0; u < p->units; ++u) {
            uint32_t acc = (uint32_t)bias[u];
            for (int32_t r = 0; r < p->rank; ++r) {
                int32_t f = u * p->rank + r;
                acc += (uint32_t)time_bias[f] + (uint32_t)time(weights_time + f * memory, st + f * memory, memory);
            }
            int32_t o = tf_requantize((int32_t)acc, p->mult2, p->shift2) + p->output_zp;
            output[b * p->units + u] = tf_clamp_s8(o, -128, 127);
        }
    }
}
