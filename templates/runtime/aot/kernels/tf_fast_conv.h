/* CONV_2D kernels for cores with the DSP extension (the conventions of tf_fast.h). */
#ifndef TF_FAST_CONV_H
#define TF_FAST_CONV_H

#include "tf_fast.h"

/* The two pixels of a pair share one column buffer, interleaved by four taps (8 int16 per group:
 * taps k..k+3 of the first pixel, then of the second), so one pointer walks both with LDRD and the
 * block needs no second column register. col points at the pixel's first slot (col + 4 for the
 * second pixel). tf_im2col16 (wide layers, a few taps per pixel) keeps the two columns apart (col,
 * col + kp): its rows of taps are then single contiguous copies. */

/* Gathers the receptive field of output pixel (oy, ox) as int16 (in_c a multiple of 4), in SXTB16
 * order: each group of four values k..k+3 is stored k, k+2, k+1, k+3, the order in which SXTB16 /
 * SXTB16 ROR 8 split a weight word, so one 32-bit load of the column pairs with one widened half of
 * the weights. Padded taps hold pad_value (see tf_kernels.h: the bias fold expects them to). */
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
                    tf_st32(col + 2 * c, tf_sxtb16_lo(v));
                    tf_st32(col + 2 * c + 2, tf_sxtb16_hi(v));
                }
            } else {
                const uint32_t lo = tf_sxtb16_lo(pad), hi = tf_sxtb16_hi(pad);
                for (int32_t c = 0; c < ic; c += 4) {
                    tf_st32(col + 2 * c, lo);
                    tf_st32(col + 2 * c + 2, hi);
                }
            }
            col += 2 * ic;
        }
    }
}

/* A residual ADD folded into the convolution (#14.2, fusion.py): the convolution's int8 value v,
 * requantised and clamped exactly as it would be stored, then TFLite's ADD of v and the skip
 * element s. Each ADD input's rescaling depends only on its int8 value, so the generator tabulates
 * it (index value + 128, exact by construction); the sum is requantised by tf_rq, whose range the
 * generator proves. The ADD's arithmetic starts from the clamped v: the two requantisations stay apart. */
typedef struct {
    const int32_t *conv_tab, *skip_tab;
    tf_rq_t rq;
    int32_t mode, act_min, act_max;
} tf_conv_res_t;

TF_ALWAYS_INLINE int8_t tf_conv_residual(const tf_conv_res_t *r, int32_t v, int32_t s)
{
    return tf_rq(r->conv_tab[v + 128] + r->skip_tab[s + 128], &r->rq, r->act_min, r->act_max, r->mode);
}

/* Stores one output: with a residual, skip is read right before out is written (out may be skip).
 * preshift: the generator multiplied the int16 weights and the bias by 2^left (conv.py, where they
 * stay in range), so the accumulator is already acc << left: the row's shift becomes the constant 0
 * and its load and LSL go (exact: SMLAD and the shift both wrap modulo 2^32). */
TF_ALWAYS_INLINE void tf_conv_put(const tf_fast_conv_t *p, const tf_conv_res_t *res, const tf_rq_t *rq,
                                  int32_t acc, int8_t *out, const int8_t *skip, int preshift)
{
    tf_rq_t q = *rq;
    if (preshift) {
        q.left = 0;
    }
    const int8_t v = tf_rq(acc, &q, p->act_min, p->act_max, p->rq_mode);
    *out = res ? tf_conv_residual(res, v, *skip) : v;
}

/* Two words (two int16 pairs) with one LDRD, the pointer advanced past them: GCC splits a 64-bit
 * load into two LDR in this loop, so the instruction is written out (the M4/M7 need only word
 * alignment for LDRD: weights and columns are 4-aligned). */
TF_ALWAYS_INLINE void tf_ldrd(const int16_t **p, uint32_t *lo, uint32_t *hi)
{
    const int16_t *q = *p;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t a, b;
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(a), "=r"(b), "+r"(q) : "m"(*(const struct { uint32_t w[2]; } *)q));
    *lo = a, *hi = b, *p = q;
#else
    *lo = tf_ld32(q), *hi = tf_ld32(q + 2), *p = q + 4;
#endif
}

/* Output channels of two gathered pixels (col: their interleaved columns), two channels x two
 * pixels per pass. w16 (weights pre-widened to int16 at generation time, conv.py conv_w16): per
 * channel pair and four taps the two channels' 4 int16 side by side, in the column's order, so 16
 * MACs take two LDRD of weights, two LDRD of columns and 8 SMLAD (12 instructions). int8 weights
 * ([out_c][kp]): two weight loads, 4 SXTB16, 4 column loads and 8 SMLAD (18). two == 0: only the
 * first pixel (an odd pixel count's last) is computed and written. */
TF_ALWAYS_INLINE void tf_conv_pair(const tf_fast_conv_t *p, const void *weights, const int32_t *bias,
                                   const tf_rq_t *rq, const int16_t *col, int8_t *out0, int8_t *out1,
                                   const tf_conv_res_t *res, const int8_t *skip0, const int8_t *skip1, int w16,
                                   int two, int wide, int preshift)
{
    const int32_t kp = p->kp, oc = p->g.out_c;
    /* int16 offset of the second pixel's taps k..k+3 from the first's: interleaved, or apart */
    const int32_t step = wide ? 1 : 2, second = wide ? kp : 4;
    int32_t o = 0;
    for (; o + 2 <= oc; o += 2) {
        int32_t a00 = bias[o], a01 = bias[o + 1];
        int32_t a10 = a00, a11 = a01;
        if (w16) {
            const int16_t *w = (const int16_t *)weights + o * kp, *c = col, *c1 = col + kp;
#pragma GCC unroll 16  /* the loop's compare and branch would be 2 of 14 instructions per 16 MACs;
                          * 16: kws's 64-tap pointwise loop whole (with preshift 0.98 -> 0.91/MAC) */
            for (int32_t k = 0; k < kp; k += 4) {
                uint32_t wa0, wa1, wb0, wb1, x0, x1;
                tf_ldrd(&w, &wa0, &wa1);
                tf_ldrd(&w, &wb0, &wb1);
                tf_ldrd(&c, &x0, &x1);
                a00 = tf_smlad_(wa0, x0, a00);
                a00 = tf_smlad_(wa1, x1, a00);
                a01 = tf_smlad_(wb0, x0, a01);
                a01 = tf_smlad_(wb1, x1, a01);
                tf_ldrd(wide ? &c1 : &c, &x0, &x1);
                if (two) {
                    a10 = tf_smlad_(wa0, x0, a10);
                    a10 = tf_smlad_(wa1, x1, a10);
                    a11 = tf_smlad_(wb0, x0, a11);
                    a11 = tf_smlad_(wb1, x1, a11);
                }
            }
        } else {
            const int8_t *w0 = (const int8_t *)weights + o * kp;
#pragma GCC unroll 4   /* the loop's add/cmp/branch are 3 of 19 instructions per 16 MACs otherwise */
            for (int32_t k = 0; k < kp; k += 4) {
                const uint32_t wa = tf_ld32(w0 + k), wb = tf_ld32(w0 + kp + k);
                const uint32_t wa0 = tf_sxtb16_lo(wa), wa1 = tf_sxtb16_hi(wa);
                const uint32_t wb0 = tf_sxtb16_lo(wb), wb1 = tf_sxtb16_hi(wb);
                uint32_t x0 = tf_ld32(col + 2 * k), x1 = tf_ld32(col + 2 * k + 2);
                a00 = tf_smlad_(wa0, x0, a00);
                a00 = tf_smlad_(wa1, x1, a00);
                a01 = tf_smlad_(wb0, x0, a01);
                a01 = tf_smlad_(wb1, x1, a01);
                if (two) {
                    x0 = tf_ld32(col + 2 * k + 4), x1 = tf_ld32(col + 2 * k + 6);
                    a10 = tf_smlad_(wa0, x0, a10);
                    a10 = tf_smlad_(wa1, x1, a10);
                    a11 = tf_smlad_(wb0, x0, a11);
                    a11 = tf_smlad_(wb1, x1, a11);
                }
            }
        }
        tf_conv_put(p, res, &rq[o], a00, out0 + o, skip0 + o, preshift);
        tf_conv_put(p, res, &rq[o + 1], a01, out0 + o + 1, skip0 + o + 1, preshift);
        if (two) {
            tf_conv_put(p, res, &rq[o], a10, out1 + o, skip1 + o, preshift);
            tf_conv_put(p, res, &rq[o + 1], a11, out1 + o + 1, skip1 + o + 1, preshift);
        }
    }
    if (o < oc) {   /* odd channel count: the last channel's row alone ([kp], after the pairs) */
        int32_t a0 = bias[o], a1 = bias[o];
        for (int32_t k = 0; k < kp; k += 4) {
            uint32_t w0, w1;
            if (w16) {
                const int16_t *w = (const int16_t *)weights + o * kp + k;
                w0 = tf_ld32(w), w1 = tf_ld32(w + 2);
            } else {
                const uint32_t wa = tf_ld32((const int8_t *)weights + o * kp + k);
                w0 = tf_sxtb16_lo(wa), w1 = tf_sxtb16_hi(wa);
            }
            a0 = tf_smlad_(w0, tf_ld32(col + step * k), a0);
            a0 = tf_smlad_(w1, tf_ld32(col + step * k + 2), a0);
            a1 = tf_smlad_(w0, tf_ld32(col + step * k + second), a1);
            a1 = tf_smlad_(w1, tf_ld32(col + step * k + second + 2), a1);
        }
        tf_conv_put(p, res, &rq[o], a0, out0 + o, skip0 + o, preshift);
        if (two) {
            tf_conv_put(p, res, &rq[o], a1, out1 + o, skip1 + o, preshift);
        }
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
    for (int32_t j = g->k_h * row; j < p->kp; ++j) {
        *col++ = 0;   /* up to kp, a multiple of 4 (the padding weights are 0) */
    }
}

/* The gather of either column order; wide is a constant in every layer function. */
TF_ALWAYS_INLINE void tf_conv_gather(const tf_fast_conv_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                                     int16_t *col, int wide)
{
    if (wide) {
        tf_im2col16(p, in_b, oy, ox, col);
    } else {
        tf_im2col(p, in_b, oy, ox, col);
    }
}

/* CONV_2D: output pixels in pairs (raster order, a pair may span two rows). col holds 2 * kp int16.
 * Weights: int8 [out_c][kp] (OHWI zero-padded to kp), or int16 (w16: see tf_conv_pair); wide (input
 * depth not a multiple of 4) always has int16 weights. col: the pair's columns (interleaved, or
 * apart when wide), 2 * kp int16. res: a folded residual ADD
 * (NULL without), skip its other input, shaped as the output. */
TF_ALWAYS_INLINE void tf_conv_pixels(const tf_fast_conv_t *p, const int8_t *input, const void *weights,
                                     const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output,
                                     const tf_conv_res_t *res, const int8_t *skip, int wide, int w16,
                                     int preshift)
{
    const tf_geom_t *g = &p->g;
    const int32_t pixels = g->out_h * g->out_w, oc = g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        int8_t *out = output + b * pixels * oc;
        const int8_t *sk = res ? skip + b * pixels * oc : out;
        int32_t px = 0, oy = 0, ox = 0;
        for (; px + 2 <= pixels; px += 2) {
            tf_conv_gather(p, in_b, oy, ox, col, wide);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_conv_gather(p, in_b, oy, ox, col + (wide ? p->kp : 4), wide);
            if (++ox == g->out_w) {
                ox = 0, ++oy;
            }
            tf_conv_pair(p, weights, bias, rq, col, out, out + oc, res, sk, sk + oc, w16, 1, wide, preshift);
            out += 2 * oc;
            sk += 2 * oc;
        }
        if (px < pixels) {   /* odd pixel count: the last one alone */
            tf_conv_gather(p, in_b, oy, ox, col, wide);
            tf_conv_pair(p, weights, bias, rq, col, out, out, res, sk, sk, w16, 0, wide, preshift);
        }
    }
}

/* Input depth a multiple of 4: int8 weights, or int16 ones (w16) where the generator spends the flash. */
TF_ALWAYS_INLINE void tf_fast_conv_s8(const tf_fast_conv_t *p, const int8_t *input, const int8_t *weights,
                                      const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output)
{
    tf_conv_pixels(p, input, weights, bias, rq, col, output, 0, 0, 0, 0, 0);
}

TF_ALWAYS_INLINE void tf_fast_conv_w16_s8(const tf_fast_conv_t *p, const int8_t *input, const int16_t *weights,
                                          const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output,
                                          const tf_conv_res_t *res, const int8_t *skip, int preshift)
{
    tf_conv_pixels(p, input, weights, bias, rq, col, output, res, skip, 0, 1, preshift);
}

/* Input depth not a multiple of 4: int16 weights in the natural order. */
TF_ALWAYS_INLINE void tf_fast_conv16_s8(const tf_fast_conv_t *p, const int8_t *input, const int16_t *weights,
                                        const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output,
                                        const tf_conv_res_t *res, const int8_t *skip, int preshift)
{
    tf_conv_pixels(p, input, weights, bias, rq, col, output, res, skip, 1, 1, preshift);
}

/* Two words at p (4-aligned) with one LDRD at an immediate offset from p's base: GCC does not pair
 * two 4-aligned loads itself. Constraint m, not Uv (with Uv GCC computes every such address into a
 * register first): the callers' offsets are multiples of 4 within 0..1020, which LDRD encodes. */
typedef struct { uint32_t w[2]; } tf_conv_u64_t;
TF_ALWAYS_INLINE void tf_ldrd_at(const int16_t *p, uint32_t *lo, uint32_t *hi)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t a, b;
    __asm__("ldrd %0, %1, %2" : "=r"(a), "=r"(b) : "m"(*(const tf_conv_u64_t *)p));
    *lo = a, *hi = b;
#else
    *lo = tf_ld32(p), *hi = tf_ld32(p + 2);
#endif
}

/* Pixels per block of tf_fast_conv_pw_s8: its column buffer holds TF_PW_BLOCK * kp int16. 16 pixels
 * spread a channel's setup (weights, bias, requantisation row: ~8 instructions) thin; more would
 * grow the scratch, which sits at vww's memory peak. */
#define TF_PW_BLOCK 16

/* One channel over n gathered pixels (col: n columns of kp int16, SXTB16 order). The channel's kp/2
 * weight words, bias and requantisation row stay in registers for the whole block: a pixel costs
 * kp/4 LDRD, kp/2 SMLAD, SMMLA, SSAT and STRB (9 instructions for 8 MACs at kp 8). */
TF_ALWAYS_INLINE void tf_pw_channel(const tf_fast_conv_t *p, const int16_t *wrow, int32_t bias, const tf_rq_t *rq,
                                    const int16_t *col, int8_t *out, int32_t n, int preshift)
{
    const int32_t kp = p->kp, oc = p->g.out_c;
    uint32_t w[8];
    for (int32_t k = 0; k < kp; k += 4) {
        tf_ldrd_at(wrow + k, &w[k / 2], &w[k / 2 + 1]);
    }
    tf_rq_t q = *rq;
    if (preshift) {
        q.left = 0;
    }
    /* col opaque: one base register, every column at an LDRD immediate offset (GCC otherwise folds the
     * scratch's arena address into each one and adds it back outside LDRD's +-1020 range) */
    __asm__("" : "+r"(col));
#pragma GCC unroll 16
    for (int32_t i = 0; i < n; ++i) {
        int32_t acc = bias;
        for (int32_t k = 0; k < kp; k += 4) {
            uint32_t x0, x1;
            tf_ldrd_at(col + i * kp + k, &x0, &x1);
            acc = tf_smlad_(w[k / 2], x0, acc);
            acc = tf_smlad_(w[k / 2 + 1], x1, acc);
        }
        out[i * oc] = tf_rq(acc, &q, p->act_min, p->act_max, p->rq_mode);
    }
}

/* n pixels (contiguous in input and output): gathered first, then written channel by channel, so an
 * output over its own input (pointwise_in_place: out_c <= in_c) only covers gathered bytes. */
TF_ALWAYS_INLINE void tf_pw_block(const tf_fast_conv_t *p, const int8_t *in, const int16_t *weights,
                                  const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *out, int32_t n,
                                  int preshift)
{
    const int32_t kp = p->kp, ic = p->g.in_c, oc = p->g.out_c;
    for (int32_t i = 0; i < n; ++i) {
        for (int32_t c = 0; c < ic; c += 4) {
            const uint32_t v = tf_ld32(in + i * ic + c);
            tf_st32(col + i * kp + c, tf_sxtb16_lo(v));
            tf_st32(col + i * kp + c + 2, tf_sxtb16_hi(v));
        }
    }
    for (int32_t o = 0; o < oc; ++o) {
        tf_pw_channel(p, weights + o * kp, bias[o], &rq[o], col, out + o, n, preshift);
    }
}

/* CONV_2D 1x1, stride 1, no padding, in_c a multiple of 4 and kp = in_c <= 16 (vww's 8- and 16-deep
 * pointwise layers): channel-outer over blocks of TF_PW_BLOCK pixels, the channel's whole filter in
 * registers (tf_pw_channel). The pixel-pair kernel reloads a channel pair's weights, bias and rows per
 * pair, which for 8 or 16 taps costs more than the MACs. Weights int16 [out_c][kp] in SXTB16 order
 * (conv.py pointwise_rows_w16). */
TF_ALWAYS_INLINE void tf_fast_conv_pw_s8(const tf_fast_conv_t *p, const int8_t *input, const int16_t *weights,
                                         const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output,
                                         int preshift)
{
    const tf_geom_t *g = &p->g;
    const int32_t pixels = g->batches * g->out_h * g->out_w, ic = g->in_c, oc = g->out_c;
    int32_t px = 0;
    for (; px + TF_PW_BLOCK <= pixels; px += TF_PW_BLOCK) {
        tf_pw_block(p, input + px * ic, weights, bias, rq, col, output + px * oc, TF_PW_BLOCK, preshift);
    }
    if (px < pixels) {
        tf_pw_block(p, input + px * ic, weights, bias, rq, col, output + px * oc, pixels - px, preshift);
    }
}

#endif
