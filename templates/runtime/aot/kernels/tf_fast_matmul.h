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
#include "tf_transpose_conv.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc) { return __smlald(a, b, acc); }
#else
/* ARM ARM A7.7 SMLALD: both halfword products added to a 64-bit accumulator */
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc)
{
    return acc + (int64_t)(tf_lo16(a) * tf_lo16(b)) + (int64_t)(tf_hi16(a) * tf_hi16(b));
}
#endif

/* ---- Dot products of int16 activations x[n] (natural order) with one or two rows of pair-order int8
 * weights, n a multiple of 4, into int32 (SMLAD) or int64 (SMLALD) accumulators. */
TF_ALWAYS_INLINE int32_t tf_mm1_s32(const int16_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlad_(tf_sxtb16_lo(v), tf_ld32(x + k), acc);
        acc = tf_smlad_(tf_sxtb16_hi(v), tf_ld32(x + k + 2), acc);
    }
    return acc;
}

TF_ALWAYS_INLINE int64_t tf_mm1_s64(const int16_t *x, const int8_t *w, int32_t n, int64_t acc)
{
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlald_(tf_sxtb16_lo(v), tf_ld32(x + k), acc);
        acc = tf_smlald_(tf_sxtb16_hi(v), tf_ld32(x + k + 2), acc);
    }
    return acc;
}

/* two rows share each pair of activation words: per 8 MACs two activation loads, two weight loads,
 * four SXTB16, four SMLAD */
TF_ALWAYS_INLINE void tf_mm2_s32(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
#pragma GCC unroll 2
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t x01 = tf_ld32(x + k), x23 = tf_ld32(x + k + 2);
        uint32_t v = tf_ld32(w0 + k);
        a0 = tf_smlad_(tf_sxtb16_lo(v), x01, a0);
        a0 = tf_smlad_(tf_sxtb16_hi(v), x23, a0);
        v = tf_ld32(w1 + k);
        a1 = tf_smlad_(tf_sxtb16_lo(v), x01, a1);
        a1 = tf_smlad_(tf_sxtb16_hi(v), x23, a1);
    }
    acc[0] = a0, acc[1] = a1;
}

TF_ALWAYS_INLINE void tf_mm2_s64(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int64_t acc[2])
{
    int64_t a0 = acc[0], a1 = acc[1];
#pragma GCC unroll 2
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t x01 = tf_ld32(x + k), x23 = tf_ld32(x + k + 2);
        uint32_t v = tf_ld32(w0 + k);
        a0 = tf_smlald_(tf_sxtb16_lo(v), x01, a0);
        a0 = tf_smlald_(tf_sxtb16_hi(v), x23, a0);
        v = tf_ld32(w1 + k);
        a1 = tf_smlald_(tf_sxtb16_lo(v), x01, a1);
        a1 = tf_smlald_(tf_sxtb16_hi(v), x23, a1);
    }
    acc[0] = a0, acc[1] = a1;
}

/* ---- FULLY_CONNECTED int16 x int8, in_depth a multiple of 4, weights in pair order, two units per pass. */
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
            int64_t acc[2] = {bias[o], bias[o + 1]};
            tf_mm2_s64(in, weights + o * n, weights + (o + 1) * n, n, acc);
            for (int32_t j = 0; j < 2; ++j) {
                out[o + j] = tf_fc16_finish(acc[j], mult[o + j], shift[o + j], p->output_offset, p->act_min,
                                            p->act_max, p->acc32);
            }
        }
        if (o < p->out_depth) {
            out[o] = tf_fc16_finish(tf_mm1_s64(in, weights + o * n, n, bias[o]), mult[o], shift[o],
                                    p->output_offset, p->act_min, p->act_max, p->acc32);
        }
    }
}

/* ---- TRANSPOSE_CONV. Weights [out_c][k_h][k_w][icp] in pair order, icp = in_c rounded up to 4 (zero
 * weights pad it). The int8 kernel first widens the batch's input to int16 with the input offset
 * added, icp values per pixel (zeros pad), into col; the int16 one (in_c a multiple of 4) reads its
 * input in place. Per output pixel the taps that reach it are listed once, then two output channels
 * per pass run over them. */
typedef struct {
    tf_tconv_params_t t;
    int32_t icp;
} tf_fast_tconv_t;

/* the taps reaching output (oy, ox): offsets of their input pixel (in int16 values) and of their weights */
TF_ALWAYS_INLINE int32_t tf_tconv_taps(const tf_geom_t *g, int32_t oy, int32_t ox, int32_t icp, int32_t *x_off,
                                       int32_t *w_off)
{
    int32_t n = 0;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = tf_tconv_source(oy, g->pad_h, ky, g->stride_h, g->in_h);
        if (iy < 0) {
            continue;
        }
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = tf_tconv_source(ox, g->pad_w, kx, g->stride_w, g->in_w);
            if (ix < 0) {
                continue;
            }
            x_off[n] = (iy * g->in_w + ix) * icp;
            w_off[n] = (ky * g->k_w + kx) * icp;
            ++n;
        }
    }
    return n;
}

TF_ALWAYS_INLINE void tf_fast_tconv_s8(const tf_fast_tconv_t *p, const int8_t *input, const int8_t *weights,
                                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int16_t *col,
                                       int8_t *output)
{
    const tf_geom_t *g = &p->t.g;
    const int32_t ic = g->in_c, icp = p->icp, filter = g->k_h * g->k_w * icp, pixels = g->in_h * g->in_w;
    int32_t x_off[g->k_h * g->k_w], w_off[g->k_h * g->k_w];
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * pixels * ic;
        for (int32_t px = 0; px < pixels; ++px) {
            for (int32_t c = 0; c < icp; ++c) {
                col[px * icp + c] = (int16_t)(c < ic ? in_b[px * ic + c] + p->t.input_offset : 0);
            }
        }
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int8_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                const int32_t taps = tf_tconv_taps(g, oy, ox, icp, x_off, w_off);
                int32_t o = 0;
                for (; o + 2 <= g->out_c; o += 2) {
                    int32_t acc[2] = {bias[o], bias[o + 1]};
                    const int8_t *w0 = weights + o * filter;
                    for (int32_t t = 0; t < taps; ++t) {
                        tf_mm2_s32(col + x_off[t], w0 + w_off[t], w0 + filter + w_off[t], icp, acc);
                    }
                    for (int32_t j = 0; j < 2; ++j) {
                        out[o + j] = tf_clamp_s8(tf_requantize(acc[j], mult[o + j], shift[o + j]) + p->t.output_offset,
                                                 p->t.act_min, p->t.act_max);
                    }
                }
                if (o < g->out_c) {
                    int32_t acc = bias[o];
                    for (int32_t t = 0; t < taps; ++t) {
                        acc = tf_mm1_s32(col + x_off[t], weights + o * filter + w_off[t], icp, acc);
                    }
                    out[o] = tf_clamp_s8(tf_requantize(acc, mult[o], shift[o]) + p->t.output_offset, p->t.act_min,
                                         p->t.act_max);
                }
            }
        }
    }
}

TF_ALWAYS_INLINE void tf_fast_tconv_s16(const tf_fast_tconv_t *p, const int16_t *input, const int8_t *weights,
                                        const int64_t *bias, const int32_t *mult, const int32_t *shift,
                                        int16_t *output)
{
    const tf_geom_t *g = &p->t.g;
    const int32_t icp = p->icp, filter = g->k_h * g->k_w * icp;
    int32_t x_off[g->k_h * g->k_w], w_off[g->k_h * g->k_w];
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * icp;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int16_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                const int32_t taps = tf_tconv_taps(g, oy, ox, icp, x_off, w_off);
                int32_t o = 0;
                for (; o + 2 <= g->out_c; o += 2) {
                    int64_t acc[2] = {bias[o], bias[o + 1]};
                    const int8_t *w0 = weights + o * filter;
                    for (int32_t t = 0; t < taps; ++t) {
                        tf_mm2_s64(in_b + x_off[t], w0 + w_off[t], w0 + filter + w_off[t], icp, acc);
                    }
                    for (int32_t j = 0; j < 2; ++j) {
                        out[o + j] = tf_clamp_s16(tf_requantize_s64(acc[j], mult[o + j], shift[o + j]), p->t.act_min,
                                                  p->t.act_max);
                    }
                }
                if (o < g->out_c) {
                    int64_t acc = bias[o];
                    for (int32_t t = 0; t < taps; ++t) {
                        acc = tf_mm1_s64(in_b + x_off[t], weights + o * filter + w_off[t], icp, acc);
                    }
                    out[o] = tf_clamp_s16(tf_requantize_s64(acc, mult[o], shift[o]), p->t.act_min, p->t.act_max);
                }
            }
        }
    }
}

#endif
