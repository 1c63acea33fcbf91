/* CONV_2D and DEPTHWISE_CONV_2D 16x8 on cores with the DSP extension (tf_fast.h style: always-inline, called from a per-layer
 * function with constant parameters; the host build runs the C models of the intrinsics).
 *
 * The int16 input is already in SMLAD's operand format, so the column is a plain copy of the
 * receptive field (zeros in the padding: the input zero point is 0) and the weights come widened to
 * int16 by the generator, [out_c][kp], kp the filter size rounded up to even. Two output channels x
 * two pixels per pass, each SMLAD two MACs. The sums are int32: the generator takes this path only
 * when 32768 * sum|w| of every channel stays below 2^31 (so TFLM's 64-bit sum is the same number), or
 * when the bias is int32 (TFLM's accumulator is then int32 and wraps as SMLAD does). DEPTHWISE_CONV_2D
 * 16x8 below, under the same condition on its int32 sums. */
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

/* DEPTHWISE_CONV_2D 16x8, any depth multiplier m: as tf_fast_depthwise_m_s8, each output row first
 * copies the k_h input rows its taps read into a strip of cs = out_c rounded up to 2 int16 channels
 * (channel j is input channel j / m; zeros in the padding), so every tap is a constant offset. The
 * weights come as one word per pair of channels and tap, (w_c | w_c+1 << 16), [cs/2][taps]: one load
 * of the strip and SMLABB / SMLATT give the two channels' MACs; two adjacent pixels share the weight. */
TF_ALWAYS_INLINE void tf_dw16_strip(const tf_fast_conv16_t *p, const int16_t *in_b, int32_t oy, int16_t *strip,
                                    int32_t strip_w)
{
    const tf_geom_t *g = &p->c.g;
    const int32_t ic = g->in_c, cs = p->kp, m = g->out_c / g->in_c, last = g->out_c - 1, row = strip_w * cs;
    const int32_t left = g->pad_w < strip_w ? g->pad_w : strip_w;
    int32_t n = strip_w - left < g->in_w ? strip_w - left : g->in_w;
    n = n < 0 ? 0 : n;
    for (int32_t ky = 0; ky < g->k_h; ++ky, strip += row) {
        const int32_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            memset(strip, 0, (size_t)row * 2);
            continue;
        }
        memset(strip, 0, (size_t)(left * cs) * 2);
        const int16_t *s = in_b + iy * g->in_w * ic;
        int16_t *d = strip + left * cs;
        for (int32_t x = 0; x < n; ++x, s += ic, d += cs) {
#pragma GCC unroll 64
            for (int32_t j = 0; j < cs; ++j) {
                d[j] = s[(j < last ? j : last) / m];
            }
        }
        memset(d, 0, (size_t)((strip_w - left - n) * cs) * 2);
    }
}

/* Channels o, o+1 of one pixel (pair = 0) or two adjacent ones; x: the first pixel's top-left tap. */
TF_ALWAYS_INLINE void tf_dw16_px(const tf_fast_conv16_t *p, const int16_t *x, const uint32_t *w, const int32_t *bias,
                                 const int32_t *mult, const int32_t *shift, const int32_t *reduced, int32_t o,
                                 int32_t row, int32_t pair, int16_t *out)
{
    const tf_conv16_params_t *c = &p->c;
    const tf_geom_t *g = &c->g;
    const int32_t cs = p->kp, oc = g->out_c, step = g->stride_w * cs;
    int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
#pragma GCC unroll 25
    for (int32_t t = 0; t < g->k_h * g->k_w; ++t) {
        const int32_t off = (t / g->k_w) * row + (t % g->k_w) * g->dil_w * cs;
        const uint32_t wt = w[t], v = tf_ld32(x + off);
        a0 = tf_smlabb_(v, wt, a0);
        a1 = tf_smlatt_(v, wt, a1);
        if (pair) {
            const uint32_t u = tf_ld32(x + off + step);
            b0 = tf_smlabb_(u, wt, b0);
            b1 = tf_smlatt_(u, wt, b1);
        }
    }
    out[o] = tf_conv16_finish(c, a0, bias, mult, shift, reduced, o);
    if (o + 1 < oc) {
        out[o + 1] = tf_conv16_finish(c, a1, bias, mult, shift, reduced, o + 1);
    }
    if (pair) {
        out[oc + o] = tf_conv16_finish(c, b0, bias, mult, shift, reduced, o);
        if (o + 1 < oc) {
            out[oc + o + 1] = tf_conv16_finish(c, b1, bias, mult, shift, reduced, o + 1);
        }
    }
}

/* strip: scratch of k_h * strip_w * cs int16. */
TF_ALWAYS_INLINE void tf_fast_depthwise_s16(const tf_fast_conv16_t *p, const int16_t *input, const uint32_t *weights,
                                            const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                            const int32_t *reduced, int16_t *strip, int16_t *output)
{
    const tf_geom_t *g = &p->c.g;
    const int32_t cs = p->kp, oc = g->out_c, taps = g->k_h * g->k_w;
    const int32_t strip_w = (g->out_w - 1) * g->stride_w + (g->k_w - 1) * g->dil_w + 1, row = strip_w * cs;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        int16_t *out = output + b * g->out_h * g->out_w * oc;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            tf_dw16_strip(p, in_b, oy, strip, strip_w);
            int32_t ox = 0;
            for (; ox + 2 <= g->out_w; ox += 2, out += 2 * oc) {
                const int16_t *x = strip + ox * g->stride_w * cs;
                for (int32_t c = 0; c < cs; c += 2) {
                    tf_dw16_px(p, x + c, weights + (c / 2) * taps, bias, mult, shift, reduced, c, row, 1, out);
                }
            }
            if (ox < g->out_w) {
                const int16_t *x = strip + ox * g->stride_w * cs;
                for (int32_t c = 0; c < cs; c += 2) {
                    tf_dw16_px(p, x + c, weights + (c / 2) * taps, bias, mult, shift, reduced, c, row, 0, out);
                }
                out += oc;
            }
        }
    }
}

#endif
