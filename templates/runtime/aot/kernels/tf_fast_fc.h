/* FULLY_CONNECTED kernels for cores with the DSP extension (the conventions of tf_fast.h). */
#ifndef TF_FAST_FC_H
#define TF_FAST_FC_H

#include "tf_fast.h"

/* FULLY_CONNECTED, per-tensor weights, in_depth a multiple of 4. The input vector is widened once
 * (SXTB16 order) into col, then four weight rows at a time share each pair of column words: per 16
 * MACs one LDRD of the column and, per row, one load, two SXTB16 and two SMLAD. */
typedef struct {
    int32_t batches, in_depth, out_depth, act_min, act_max, rq_mode;
} tf_fast_fc_t;

TF_ALWAYS_INLINE int32_t tf_fc_row(const int8_t *w, const int16_t *col, int32_t n, int32_t acc)
{
#pragma GCC unroll 4
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlad_(tf_sxtb16_lo(v), tf_ld32(col + k), acc);
        acc = tf_smlad_(tf_sxtb16_hi(v), tf_ld32(col + k + 2), acc);
    }
    return acc;
}

TF_ALWAYS_INLINE void tf_fast_fc_s8(const tf_fast_fc_t *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * n;
        int8_t *out = output + b * p->out_depth;
        for (int32_t k = 0; k < n; k += 4) {
            const uint32_t v = tf_ld32(in + k);
            tf_st32(col + k, tf_sxtb16_lo(v));
            tf_st32(col + k + 2, tf_sxtb16_hi(v));
        }
        int32_t o = 0;
        for (; o + 4 <= p->out_depth; o += 4) {
            const int8_t *w = weights + o * n;
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
#pragma GCC unroll 2
            for (int32_t k = 0; k < n; k += 4) {
                const uint32_t x0 = tf_ld32(col + k), x1 = tf_ld32(col + k + 2);
                uint32_t v = tf_ld32(w + k);
                a0 = tf_smlad_(tf_sxtb16_lo(v), x0, a0);
                a0 = tf_smlad_(tf_sxtb16_hi(v), x1, a0);
                v = tf_ld32(w + n + k);
                a1 = tf_smlad_(tf_sxtb16_lo(v), x0, a1);
                a1 = tf_smlad_(tf_sxtb16_hi(v), x1, a1);
                v = tf_ld32(w + 2 * n + k);
                a2 = tf_smlad_(tf_sxtb16_lo(v), x0, a2);
                a2 = tf_smlad_(tf_sxtb16_hi(v), x1, a2);
                v = tf_ld32(w + 3 * n + k);
                a3 = tf_smlad_(tf_sxtb16_lo(v), x0, a3);
                a3 = tf_smlad_(tf_sxtb16_hi(v), x1, a3);
            }
            out[o] = tf_rq(a0, &rq[o], p->act_min, p->act_max, p->rq_mode);
            out[o + 1] = tf_rq(a1, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
            out[o + 2] = tf_rq(a2, &rq[o + 2], p->act_min, p->act_max, p->rq_mode);
            out[o + 3] = tf_rq(a3, &rq[o + 3], p->act_min, p->act_max, p->rq_mode);
        }
        for (; o < p->out_depth; ++o) {
            out[o] = tf_rq(tf_fc_row(weights + o * n, col, n, bias[o]), &rq[o], p->act_min, p->act_max,
                           p->rq_mode);
        }
    }
}

#endif
