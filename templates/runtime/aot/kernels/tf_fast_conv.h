/* CONV_2D kernels for cores with the DSP extension (the conventions of tf_fast.h). */
#ifndef TF_FAST_CONV_H
#define TF_FAST_CONV_H

#include "tf_fast.h"

/* Gathers the receptive field of output pixel (oy, ox) as int16 (in_c a multiple of 4), in SXTB16
 * order: each group of four values k..k+3 is stored k, k+2, k+1, k+3, the order in which SXTB16 /
 * SXTB16 ROR 8 split a weight word, so one 32-bit load of the column pairs with one widened half of the weights. Padded taps
 * hold pad_value (see tf_kernels.h: the bias fold expects them to). */
TF_ALWAYS_INLINE void tf_im2col(const tf_fast_conv_t *p, const int8_t *input, int32_t oy, int32_t ox,
                                int16_t *col)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const uint32_t pad = (uint8_t)p->pad_value * 0x01010101u;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = iy0 + ky * g->dil_h;
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = ix0 + kx * g->dil_w;
            const int8_t *src = input + (iy * g->in_w + ix) * ic;
            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                for (int32_t c = 0; c < ic; c += 4) {
                    uint32_t v = tf_ld32(src + c);
                    tf_st32(col + c, tf_sxtb16_lo(v));
                    tf_st32(col + c + 2, tf_sxtb16_hi(v));
                }
            } else {
                const uint32_t lo = tf_sxtb16_lo(pad), hi = tf_sxtb16_hi(pad);
                for (int32_t c = 0; c < ic; c += 4) {
                    tf_st32(col + c, lo);
                    tf_st32(col + c + 2, hi);
                }
            }
            col += ic;
        }
    }
}

/* Output channels of two gathered pixels (col0, col1): two channels x two pixels per pass, so each
 * widened weight word and each column word feeds two SMLADs (16 MACs per 2 weight loads, 4 SXTB16,
 * 4 column loads and 8 SMLAD). */
TF_ALWAYS_INLINE void tf_conv_pair(const tf_fast_conv_t *p, const int8_t *weights, const int32_t *bias,
                                   const tf_rq_t *rq, const int16_t *col0, const int16_t *col1,
                                   int8_t *out0, int8_t *out1)
{
    const int32_t kp = p->kp, oc = p->g.out_c;
    int32_t o = 0;
    for (; o + 2 <= oc; o += 2) {
        const int8_t *w0 = weights + o * kp;
        int32_t a00 = bias[o], a01 = bias[o + 1];
        int32_t a10 = a00, a11 = a01;
#pragma GCC unroll 4   /* the loop's add/cmp/branch are 3 of 19 instructions per 16 MACs otherwise */
        for (int32_t k = 0; k < kp; k += 4) {
            const uint32_t wa = tf_ld32(w0 + k), wb = tf_ld32(w0 + kp + k);
            const uint32_t wa0 = tf_sxtb16_lo(wa), wa1 = tf_sxtb16_hi(wa);
            const uint32_t wb0 = tf_sxtb16_lo(wb), wb1 = tf_sxtb16_hi(wb);
            uint32_t x0 = tf_ld32(col0 + k), x1 = tf_ld32(col0 + k + 2);
            a00 = tf_smlad_(wa0, x0, a00);
            a00 = tf_smlad_(wa1, x1, a00);
            a01 = tf_smlad_(wb0, x0, a01);
            a01 = tf_smlad_(wb1, x1, a01);
            x0 = tf_ld32(col1 + k), x1 = tf_ld32(col1 + k + 2);
            a10 = tf_smlad_(wa0, x0, a10);
            a10 = tf_smlad_(wa1, x1, a10);
            a11 = tf_smlad_(wb0, x0, a11);
            a11 = tf_smlad_(wb1, x1, a11);
        }
        out0[o] = tf_rq(a00, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out0[o + 1] = tf_rq(a01, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
        out1[o] = tf_rq(a10, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out1[o + 1] = tf_rq(a11, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
    }
    if (o < oc) {
        const int8_t *w0 = weights + o * kp;
        int32_t a0 = bias[o], a1 = bias[o];
        for (int32_t k = 0; k < kp; k += 4) {
            const uint32_t wa = tf_ld32(w0 + k);
            const uint32_t wa0 = tf_sxtb16_lo(wa), wa1 = tf_sxtb16_hi(wa);
            a0 = tf_smlad_(wa0, tf_ld32(col0 + k), a0);
            a0 = tf_smlad_(wa1, tf_ld32(col0 + k + 2), a0);
            a1 = tf_smlad_(wa0, tf_ld32(col1 + k), a1);
            a1 = tf_smlad_(wa1, tf_ld32(col1 + k + 2), a1);
        }
        out0[o] = tf_rq(a0, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out1[o] = tf_rq(a1, &rq[o], p->act_min, p->act_max, p->rq_mode);
    }
}

/* CONV_2D whose input depth is not a multiple of 4 (a first layer on RGB or a 1-channel spectrogram):
 * the generic im2col above reorders every value for SXTB16. Here the generator widens the weights
 * to int16 in flash instead ([out_c][kp], kp = k rounded up to even, a few hundred bytes for such
 * layers), so the column keeps the natural order, each row of taps is one contiguous copy, and
 * SMLAD takes the weights as they are. */
TF_ALWAYS_INLINE void tf_im2col16(const tf_fast_conv_t *p, const int8_t *input, int32_t oy, int32_t ox,
                                  int16_t *col)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, row = g->k_w * ic;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const int x_inside = ix0 >= 0 && ix0 + (g->k_w - 1) * g->dil_w < g->in_w;
    for (int32_t ky = 0; ky < g->k_h; ++ky, col += row) {
        const int32_t iy = iy0 + ky * g->dil_h;
        const int8_t *src = input + (iy * g->in_w + ix0) * ic;
        if (iy < 0 || iy >= g->in_h) {
            for (int32_t j = 0; j < row; ++j) {
                col[j] = (int16_t)p->pad_value;
            }
        } else if (x_inside && g->dil_w == 1) {
            for (int32_t j = 0; j < row; ++j) {   /* k_w pixels side by side: one run of bytes */
                col[j] = src[j];
            }
        } else {
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = ix0 + kx * g->dil_w;
                const int valid = ix >= 0 && ix < g->in_w;
                for (int32_t c = 0; c < ic; ++c) {
                    col[kx * ic + c] = valid ? src[kx * g->dil_w * ic + c] : (int16_t)p->pad_value;
                }
            }
        }
    }
    if (g->k_h * row < p->kp) {
        col[0] = 0;   /* the odd tap's partner (its weight is 0) */
    }
}

/* Two output channels x two pixels per pass, int16 weights and columns: 8 MACs per 2 weight loads,
 * 2 column loads and 4 SMLAD. */
TF_ALWAYS_INLINE void tf_conv16_pair(const tf_fast_conv_t *p, const int16_t *weights, const int32_t *bias,
                                     const tf_rq_t *rq, const int16_t *col0, const int16_t *col1,
                                     int8_t *out0, int8_t *out1)
{
    const int32_t kp = p->kp, oc = p->g.out_c;
    int32_t o = 0;
    for (; o + 2 <= oc; o += 2) {
        const int16_t *w0 = weights + o * kp;
        int32_t a00 = bias[o], a01 = bias[o + 1];
        int32_t a10 = a00, a11 = a01;
        for (int32_t k = 0; k < kp; k += 2) {
            const uint32_t wa = tf_ld32(w0 + k), wb = tf_ld32(w0 + kp + k);
            const uint32_t x0 = tf_ld32(col0 + k), x1 = tf_ld32(col1 + k);
            a00 = tf_smlad_(wa, x0, a00);
            a01 = tf_smlad_(wb, x0, a01);
            a10 = tf_smlad_(wa, x1, a10);
            a11 = tf_smlad_(wb, x1, a11);
        }
        out0[o] = tf_rq(a00, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out0[o + 1] = tf_rq(a01, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
        out1[o] = tf_rq(a10, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out1[o + 1] = tf_rq(a11, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
    }
    if (o < oc) {
        const int16_t *w0 = weights + o * kp;
        int32_t a0 = bias[o], a1 = bias[o];
        for (int32_t k = 0; k < kp; k += 2) {
            const uint32_t wa = tf_ld32(w0 + k);
            a0 = tf_smlad_(wa, tf_ld32(col0 + k), a0);
            a1 = tf_smlad_(wa, tf_ld32(col1 + k), a1);
        }
        out0[o] = tf_rq(a0, &rq[o], p->act_min, p->act_max, p->rq_mode);
        out1[o] = tf_rq(a1, &rq[o], p->act_min, p->act_max, p->rq_mode);
    }
}

/* The gather and the 2 x 2 block of either weight layout; wide is a constant in every layer function. */
TF_ALWAYS_INLINE void tf_conv_gather(const tf_fast_conv_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                                     int16_t *col, int wide)
{
    if (wide) {
        tf_im2col16(p, in_b, oy, ox, col);
    } else {
        tf_im2col(p, in_b, oy, ox, col);
    }
}

TF_ALWAYS_INLINE void tf_conv_block(const tf_fast_conv_t *p, const void *weights, const int32_t *bias,
                                    const tf_rq_t *rq, const int16_t *col0, const int16_t *col1, int8_t *out0,
                                    int8_t *out1, int wide)
{
    if (wide) {
        tf_conv16_pair(p, (const int16_t *)weights, bias, rq, col0, col1, out0, out1);
    } else {
        tf_conv_pair(p, (const int8_t *)weights, bias, rq, col0, col1, out0, out1);
    }
}

/* CONV_2D: output pixels in pairs (raster order, a pair may span two rows). col holds 2 * kp int16.
 * Weights: [out_c][kp], OHWI zero-padded to kp; int8, or int16 when wide. The pair's second column
 * stays a constant offset from the first (a pointer more spills in the 2 x 2 block). */
TF_ALWAYS_INLINE void tf_conv_pixels(const tf_fast_conv_t *p, const int8_t *input, const void *weights,
                                     const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output,
                                     int wide)
{
    const tf_geom_t *g = &p->g;
    const int32_t pixels = g->out_h * g->out_w, oc = g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        int8_t *out = output + b * pixels * oc;
        int32_t px = 0, oy = 0, ox = 0;
        for (; px + 2 <= pixels; px += 2) {
            tf_conv_gather(p, in_b, oy, ox, col, wide);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_conv_gather(p, in_b, oy, ox, col + p->kp, wide);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_conv_block(p, weights, bias, rq, col, col + p->kp, out, out + oc, wide);
            out += 2 * oc;
        }
        if (px < pixels) {   /* odd pixel count: the last one twice, written once */
            tf_conv_gather(p, in_b, oy, ox, col, wide);
            tf_conv_block(p, weights, bias, rq, col, col, out, out, wide);
        }
    }
}

TF_ALWAYS_INLINE void tf_fast_conv_s8(const tf_fast_conv_t *p, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output)
{
    tf_conv_pixels(p, input, weights, bias, rq, col, output, 0);
}

TF_ALWAYS_INLINE void tf_fast_conv16_s8(const tf_fast_conv_t *p, const int8_t *input, const int16_t *weights,
                                        const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output)
{
    tf_conv_pixels(p, input, weights, bias, rq, col, output, 1);
}

#endif
