/* SMLAD inner products of the recurrent operators (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM), on tf_fast.h's
 * instruction helpers, so the host harness runs this same code through their C models. Plugged into the
 * portable kernels (tf_svdf.c, tf_lstm.c) in place of their plain loops: the arithmetic is the same
 * int32 wrapping sums, only grouped by two lanes per instruction. */
#ifndef TF_RECURRENT_SIMD_H
#define TF_RECURRENT_SIMD_H

#include <stdint.h>
#include "tf_fast.h"

/* acc[r] = bias[r] + x . w[r], four rows at a time: one input word expanded once (two SXTB16) serves
 * the four rows, then per row one load, two SXTB16 and two SMLAD per four MACs. */
static TF_LAYER_ATTRS __attribute__((unused)) void tf_rnn_matvec_s8_simd(
    const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows, int32_t cols, int32_t *acc)
{
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        int32_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            uint32_t v = tf_ld32(x + c);
            uint32_t xl = tf_sxtb16_lo(v), xh = tf_sxtb16_hi(v);
            v = tf_ld32(w0 + c);
            a0 = tf_smlad_(xl, tf_sxtb16_lo(v), a0);
            a0 = tf_smlad_(xh, tf_sxtb16_hi(v), a0);
            v = tf_ld32(w1 + c);
            a1 = tf_smlad_(xl, tf_sxtb16_lo(v), a1);
            a1 = tf_smlad_(xh, tf_sxtb16_hi(v), a1);
            v = tf_ld32(w2 + c);
            a2 = tf_smlad_(xl, tf_sxtb16_lo(v), a2);
            a2 = tf_smlad_(xh, tf_sxtb16_hi(v), a2);
            v = tf_ld32(w3 + c);
            a3 = tf_smlad_(xl, tf_sxtb16_lo(v), a3);
            a3 = tf_smlad_(xh, tf_sxtb16_hi(v), a3);
        }
        for (; c < cols; ++c) {
            int32_t xv = x[c];
            a0 = (int32_t)((uint32_t)a0 + (uint32_t)(xv * w0[c]));
            a1 = (int32_t)((uint32_t)a1 + (uint32_t)(xv * w1[c]));
            a2 = (int32_t)((uint32_t)a2 + (uint32_t)(xv * w2[c]));
            a3 = (int32_t)((uint32_t)a3 + (uint32_t)(xv * w3[c]));
        }
        acc[r] = a0, acc[r + 1] = a1, acc[r + 2] = a2, acc[r + 3] = a3;
    }
    for (; r < rows; ++r) {
        const int8_t *wr = w + r * cols;
        int32_t a = bias[r];
        int32_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            uint32_t v = tf_ld32(x + c), u = tf_ld32(wr + c);
            a = tf_smlad_(tf_sxtb16_lo(v), tf_sxtb16_lo(u), a);
            a = tf_smlad_(tf_sxtb16_hi(v), tf_sxtb16_hi(u), a);
        }
        for (; c < cols; ++c) {
            a = (int32_t)((uint32_t)a + (uint32_t)(x[c] * wr[c]));
        }
        acc[r] = a;
    }
}

/* sum_j a[j] * b[j] over int16: two products per SMLAD (SVDF's time weights against its state) */
static TF_LAYER_ATTRS __attribute__((unused)) int32_t tf_rnn_dot_s16_simd(const int16_t *a, const int16_t *b,
                                                                          int32_t n)
{
    int32_t acc = 0, j = 0;
    for (; j + 2 <= n; j += 2) {
        acc = tf_smlad_(tf_ld32(a + j), tf_ld32(b + j), acc);
    }
    if (j < n) {
        acc = (int32_t)((uint32_t)acc + (uint32_t)(a[j] * b[j]));
    }
    return acc;
}

#endif
