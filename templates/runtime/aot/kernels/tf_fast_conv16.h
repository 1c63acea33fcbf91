/* CONV_2D 16x8 on cores with the DSP extension (tf_fast.h style: always-inline, called from a per-layer
 * function with constant parameters; the host build runs the C models of the intrinsics).
 *
 * The int16 input is already in SMLAD's operand format, so the column is a plain copy of the
 * receptive field (zeros in the padding: the input zero point is 0) and the weights come widened to
 * int16 by the generator, [out_c][kp], kp the filter size rounded up to even. Two output channels x
 * two pixels per pass, each SMLAD two MACs. The sums are int32: the generator takes this path only
 * when 32768 * sum|w| of every channel stays below 2^31 (so TFLM's 64-bit sum is the same number), or
 * when the bias is int32 (TFLM's accumulator is then int32 and wraps as SMLAD does). */
#ifndef TF_FAST_CONV16_H
#define TF_FAST_CONV16_H

#include "tf_conv16.h"
#include "tf_fast.h"

typedef struct {
    tf_conv16_params_t c;
    int32_t kp;
} tf_fast_conv16_t;

/* The receptive field of output pixel (oy, ox), kp int16 values (the last one 0 when k is odd). */
TF_ALWAYS_INLINE void tf_im2col_s16(const tf_fast_conv16_t *p, const int16_t *input, int32_t oy, int32_t ox,
                                    int16_t *col)
{
    const tf_geom_t *g = &p->c.g;
    const int32_t ic = g->in_c, row = g->k_w * ic;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const int x_inside = ix0 >= 0 && ix0 + (g->k_w - 1) * g->dil_w < g->in_w;
    for (int32_t ky = 0; ky < g->k_h; ++ky, col += row) {
        const int32_t iy = iy0 + ky * g->dil_h;
        const int16_t *src = input + (iy * g->in_w + ix0) * ic;
        if (iy < 0 || iy >= g->in_h) {
            memset(col, 0, (size_t)row * 2);
        } else if (x_inside && g->dil_w == 1) {
            memcpy(col, src, (size_t)row * 2);   /* k_w pixels side by side: one run */
        } else {
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = ix0 + kx * g->dil_w;
                if (ix >= 0 && ix < g->in_w) {
                    memcpy(col + kx * ic, src + kx * g->dil_w * ic, (size_t)ic * 2);
                } else {
                    memset(col + kx * ic, 0, (size_t)ic * 2);
                }
            }
        }
    }
    if (g->k_h * row < p->kp) {
        col[0] = 0;   /* the odd tap's partner (its weight is 0) */
    }
}

/* Two output channels x two pixels; a last odd channel alone. */
TF_ALWAYS_INLINE void tf_conv16_block(const tf_fast_conv16_t *p, const int16_t *weights, const int32_t *bias,
                                      const int32_t *mult, const int32_t *shift, const int32_t *reduced,
                                      const int16_t *col0, const int16_t *col1, int16_t *out0, int16_t *out1)
{
    const tf_conv16_params_t *c = &p->c;
    const int32_t kp = p->kp, oc = c->g.out_c;
    int32_t o = 0;
    for (; o + 2 <= oc; o += 2) {
        const int16_t *w0 = weights + o * kp;
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
#pragma GCC unroll 4
        for (int32_t k = 0; k < kp; k += 2) {
            const uint32_t wa = tf_ld32(w0 + k), wb = tf_ld32(w0 + kp + k);
            const uint32_t x0 = tf_ld32(col0 + k), x1 = tf_ld32(col1 + k);
            a00 = tf_smlad_(wa, x0, a00);
            a01 = tf_smlad_(wb, x0, a01);
            a10 = tf_smlad_(wa, x1, a10);
            a11 = tf_smlad_(wb, x1, a11);
        }
        out0[o] = tf_conv16_finish(c, a00, bias, mult, shift, reduced, o);
        out0[o + 1] = tf_conv16_finish(c, a01, bias, mult, shift, reduced, o + 1);
        out1[o] = tf_conv16_finish(c, a10, bias, mult, shift, reduced, o);
        out1[o + 1] = tf_conv16_finish(c, a11, bias, mult, shift, reduced, o + 1);
    }
    if (o < oc) {
        const int16_t *w0 = weights + o * kp;
        int32_t a0 = 0, a1 = 0;
        for (int32_t k = 0; k < kp; k += 2) {
            const uint32_t wa = tf_ld32(w0 + k);
            a0 = tf_smlad_(wa, tf_ld32(col0 + k), a0);
            a1 = tf_smlad_(wa, tf_ld32(col1 + k), a1);
        }
        out0[o] = tf_conv16_finish(c, a0, bias, mult, shift, reduced, o);
        out1[o] = tf_conv16_finish(c, a1, bias, mult, shift, reduced, o);
    }
}

/* Output pixels in pairs (raster order; an odd last pixel twice, written once). col: 2 * kp int16. */
TF_ALWAYS_INLINE void tf_fast_conv_s16(const tf_fast_conv16_t *p, const int16_t *input, const int16_t *weights,
                                       const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                       const int32_t *reduced, int16_t *col, int16_t *output)
{
    const tf_geom_t *g = &p->c.g;
    const int32_t pixels = g->out_h * g->out_w, oc = g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        int16_t *out = output + b * pixels * oc;
        int32_t px = 0, oy = 0, ox = 0;
        for (; px + 2 <= pixels; px += 2, out += 2 * oc) {
            tf_im2col_s16(p, in_b, oy, ox, col);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_im2col_s16(p, in_b, oy, ox, col + p->kp);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_conv16_block(p, weights, bias, mult, shift, reduced, col, col + p->kp, out, out + oc);
        }
        if (px < pixels) {
            tf_im2col_s16(p, in_b, oy, ox, col);
            tf_conv16_block(p, weights, bias, mult, shift, reduced, col, col, out, out);
        }
    }
}

#endif
