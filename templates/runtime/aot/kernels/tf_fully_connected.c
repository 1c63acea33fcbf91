/* FULLY_CONNECTED int8 (see tf_kernels.h for the arithmetic contract). */
#include <string.h>
#include "tf_kernels.h"

static inline int32_t finish(const tf_fc_params_t *p, int32_t acc)
{
    return tf_clamp_s8(tf_requantize(acc, p->multiplier, p->shift) + p->output_offset, p->act_min, p->act_max);
}

#if TF_USE_DSP
#include <arm_acle.h>



/* Four output rows at a time share each expanded input word: per 16 MACs one input load and two
 * SXTB16, then per row one load, two SXTB16 and two SMLAD. */
static void rows4(const int8_t *in, const int8_t *w, int32_t n, const int32_t *bias, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + n, *w2 = w + 2 * n, *w3 = w + 3 * n;
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t x = tf_load32(in + i);
        int16x2_t x02 = __sxtb16(x), x13 = tf_sxtb16_ror8(x);
        uint32_t v = tf_load32(w0 + i);
        a0 = __smlad(x02, __sxtb16(v), a0);
        a0 = __smlad(x13, tf_sxtb16_ror8(v), a0);
        v = tf_load32(w1 + i);
        a1 = __smlad(x02, __sxtb16(v), a1);
        a1 = __smlad(x13, tf_sxtb16_ror8(v), a1);
        v = tf_load32(w2 + i);
        a2 = __smlad(x02, __sxtb16(v), a2);
        a2 = __smlad(x13, tf_sxtb16_ror8(v), a2);
        v = tf_load32(w3 + i);
        a3 = __smlad(x02, __sxtb16(v), a3);
        a3 = __smlad(x13, tf_sxtb16_ror8(v), a3);
    }
    for (; i < n; ++i) {
        int32_t x = in[i];
        a0 += x * w0[i];
        a1 += x * w1[i];
        a2 += x * w2[i];
        a3 += x * w3[i];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

static int32_t row1(const int8_t *in, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t x = tf_load32(in + i), v = tf_load32(w + i);
        acc = __smlad(__sxtb16(x), __sxtb16(v), acc);
        acc = __smlad(tf_sxtb16_ror8(x), tf_sxtb16_ror8(v), acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)in[i] * w[i];
    }
    return acc;
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
            int32_t acc[4];
            rows4(in, weights + o * n, n, bias + o, acc);
            for (int k = 0; k < 4; ++k) {
                out[o + k] = (int8_t)finish(p, acc[k]);
            }
        }
        for (; o < p->out_depth; ++o) {
            out[o] = (int8_t)finish(p, row1(in, weights + o * n, n, bias[o]));
        }
    }
}

#else

void tf_fully_connected_s8(const tf_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * n;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const int8_t *w = weights + o * n;
            int32_t acc = bias[o];
            for (int32_t i = 0; i < n; ++i) {
                acc += (int32_t)in[i] * (int32_t)w[i];
            }
            output[b * p->out_depth + o] = (int8_t)finish(p, acc);
        }
    }
}

#endif
