/* FULLY_CONNECTED int8 (see tf_kernels.h for the arithmetic contract). */
#include "tf_kernels.h"

#if TF_USE_DSP
#include <arm_acle.h>

static inline uint32_t ror32(uint32_t x, unsigned r)
{
    return (x >> r) | (x << (32u - r)); /* one ROR instruction */
}

/* Four int8 MACs per two SMLAD: SXTB16 splits bytes 0,2 and (after ROR 8) 1,3 into int16 pairs. */
static inline int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t va, vb;
        __builtin_memcpy(&va, a + i, 4);
        __builtin_memcpy(&vb, b + i, 4);
        int16x2_t a02 = __sxtb16(va), a13 = __sxtb16(ror32(va, 8));
        int16x2_t b02 = __sxtb16(vb), b13 = __sxtb16(ror32(vb, 8));
        acc = __smlad(a02, b02, acc);
        acc = __smlad(a13, b13, acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
    }
    return acc;
}
#else
static inline int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc)
{
    for (int32_t i = 0; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
    }
    return acc;
}
#endif

void tf_fully_connected_s8(const tf_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            int32_t acc = dot_s8(in, weights + o * p->in_depth, p->in_depth, bias[o]);
            acc = tf_requantize(acc, p->multiplier, p->shift) + p->output_offset;
            output[b * p->out_depth + o] = tf_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
}
