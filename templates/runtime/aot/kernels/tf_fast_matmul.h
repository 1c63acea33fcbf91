/* SIMD (DSP extension) kernels of FULLY_CONNECTED 16x8, TRANSPOSE_CONV and BATCH_MATMUL, in tf_fast.h's
 * style: always-inline bodies called from per-layer functions with constant parameter blocks, and on
 * the host tf_fast.h's C models of the instructions, plus SMLALD's here, so the host harness checks
 * this arithmetic against TFLM bit for bit.
 *
 * Weights in "pair order": each group of four int8 weights k..k+3 is stored k, k+2, k+1, k+3 (the
 * generator permutes them), so SXTB16 and SXTB16 ROR 8 of one word give the int16 pairs (k, k+1) and
 * (k+2, k+3), which line up with two words of an int16 vector in natural order: one weight load feeds
 * two SMLAD (or SMLALD) against two plain loads of the activations. */
#ifndef TF_FAST_MATMUL_H
#define TF_FAST_MATMUL_H

#include <stdint.h>
#include "tf_fast.h"
#include "tf_fc16.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc) { return __smlald(a, b, acc); }
#else
/* ARM ARM A7.7 SMLALD: both halfword products added to a 64-bit accumulator */
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc)
{
    return acc + (int64_t)(tf_lo16(a) * tf_lo16(b)) + (int64_t)(tf_hi16(a) * tf_hi16(b));
}
#endif

/* ---- FULLY_CONNECTED int16 x int8, in_depth a multiple of 4, weights in pair order. Two output units
 * per pass share each input word: per 8 MACs two input loads, two weight loads, four SXTB16, four
 * SMLALD. */
TF_ALWAYS_INLINE void tf_fast_fc_s16(const tf_fc16_params_t *p, const int16_t *input, const int8_t *weights,
                                     const int64_t *bias, const int32_t *mult, const int32_t *shift,
                                     int16_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * n;
        int16_t *out = output + b * p->out_depth;
        int32_t o = 0;
        for (; o + 2 <= p->out_depth; o += 2) {
            const int8_t *w0 = weights + o * n, *w1 = w0 + n;
            int64_t a0 = bias[o], a1 = bias[o + 1];
#pragma GCC unroll 2
            for (int32_t k = 0; k < n; k += 4) {
                const uint32_t x01 = tf_ld32(in + k), x23 = tf_ld32(in + k + 2);
                uint32_t v = tf_ld32(w0 + k);
                a0 = tf_smlald_(tf_sxtb16_lo(v), x01, a0);
                a0 = tf_smlald_(tf_sxtb16_hi(v), x23, a0);
                v = tf_ld32(w1 + k);
                a1 = tf_smlald_(tf_sxtb16_lo(v), x01, a1);
                a1 = tf_smlald_(tf_sxtb16_hi(v), x23, a1);
            }
            out[o] = tf_fc16_finish(a0, mult[o], shift[o], p->output_offset, p->act_min, p->act_max, p->acc32);
            out[o + 1] = tf_fc16_finish(a1, mult[o + 1], shift[o + 1], p->output_offset, p->act_min, p->act_max,
                                        p->acc32);
        }
        if (o < p->out_depth) {
            const int8_t *w0 = weights + o * n;
            int64_t a0 = bias[o];
            for (int32_t k = 0; k < n; k += 4) {
                const uint32_t v = tf_ld32(w0 + k);
                a0 = tf_smlald_(tf_sxtb16_lo(v), tf_ld32(in + k), a0);
                a0 = tf_smlald_(tf_sxtb16_hi(v), tf_ld32(in + k + 2), a0);
            }
            out[o] = tf_fc16_finish(a0, mult[o], shift[o], p->output_offset, p->act_min, p->act_max, p->acc32);
        }
    }
}

#endif
