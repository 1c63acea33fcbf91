/* Shape-specialised int8 kernels for cores with Helium (M-profile Vector Extension, integer), e.g.
 * the Cortex-M55: CONV_2D and FULLY_CONNECTED by 16-lane int8 dot products (VMLADAVA.S8),
 * DEPTHWISE_CONV_2D by 4-lane int32 multiply-accumulates of widened bytes (VLDRB.S32 + VMLA), and
 * per-channel requantisation four channels at a time.
 *
 * As in tf_fast.h, every function is always_inline and model.c calls it from a small per-layer
 * function with a static const parameter block, so GCC specialises it for the layer's shape.
 *
 * Arithmetic contract (tf_kernels.h): int32 accumulators start from the folded bias
 * b - input_zp * sum(w); padded taps read pad_value = input_zp. Requantisation is TFLite's
 * MultiplyByQuantizedMultiplier, exactly, for every multiplier and shift (see tf_mve_requant), so
 * this path needs no range proof. There is no host build of these kernels (arm_mve.h is Arm-only):
 * they are verified on an emulated Cortex-M55 (QEMU mps3-an547) against the TFLM golden. */
#ifndef TF_MVE_H
#define TF_MVE_H

#include <stdint.h>
#include "tf_kernels.h"

#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1))
#error "tf_mve.h needs Helium (MVE integer); the generator only selects it for cores that have it"
#endif
#include <arm_mve.h>

#define TF_MVE_INLINE static inline __attribute__((always_inline))
/* Per-layer functions: kept apart (readable disassembly) and optimised at -O3 whatever the build's
 * level, as tf_fast.h's TF_LAYER_ATTRS (a separate name so both headers can be included). */
#define TF_MVE_LAYER_ATTRS __attribute__((noinline, optimize("O3")))

/* Requantisation constants of four consecutive output channels, one vector load each. */
typedef struct {
    int32_t bias[4];   /* folded bias (a zero-weight padding channel has 0 everywhere) */
    int32_t mult[4];   /* TFLite's quantized multiplier (Q31) */
    int32_t left[4];   /* TFLite's left shift: max(shift, 0) */
    int32_t right[4];  /* minus TFLite's right shift: min(shift, 0) */
} tf_mve_rq_t;

/* Layer constants. CONV_2D / FULLY_CONNECTED: k is the filter size k_h * k_w * in_c, processed in
 * ceil(k / 16) chunks of 16 bytes; direct: a 1x1 filter without padding, whose column is the input
 * pixel itself (read in place, no im2col). DEPTHWISE_CONV_2D: strip_w is the width in pixels of the
 * padded input rows kept in the scratch strip. */
typedef struct {
    tf_geom_t g;
    int32_t k, direct, strip_w;
    int32_t pad_value, output_offset, act_min, act_max;
    int32_t left_shift;   /* some channel shifts left: the VSHL is needed */
} tf_mve_conv_t;

/* Four int32 lanes from four general registers in two instructions (VMOV Q[2],Q[0],Rt,Rt2 has no
 * intrinsic; vsetq_lane takes four). */
TF_MVE_INLINE int32x4_t tf_mve_pack4(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\tvmov %q0[3], %q0[1], %3, %4"
            : "=&w"(v) : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}

/* TFLite's MultiplyByQuantizedMultiplier plus output offset and activation clamp, per lane:
 * - VSHL by a positive lane shift is TFLite's acc * 2^left (wrapping, as tf_requantize).
 * - VQRDMULH is SaturatingRoundingDoublingHighMul: both give floor((a*b + 2^30) / 2^31), saturated
 *   only for INT32_MIN * INT32_MIN (gemmlowp's nudge 1 - 2^30 with truncating division for negative
 *   products is the same floor).
 * - RoundingDivideByPOT rounds halves away from zero; VRSHL by -n rounds them up. Subtracting 1
 *   from negative values first (the lane's sign masked by the shift's sign bit, so nothing for
 *   n = 0; VQADD keeps INT32_MIN) turns one into the other: floor((x - 1 + 2^(n-1)) / 2^n). */
TF_MVE_INLINE int32x4_t tf_mve_requant(const tf_mve_conv_t *p, int32x4_t acc, const tf_mve_rq_t *q)
{
    if (p->left_shift) {
        acc = vshlq_s32(acc, vldrwq_s32(q->left));
    }
    int32x4_t r = vqrdmulhq_s32(acc, vldrwq_s32(q->mult));
    const int32x4_t right = vldrwq_s32(q->right);
    r = vqaddq_s32(r, vshrq_n_s32(vandq_s32(r, right), 31));
    r = vrshlq_s32(r, right);
    r = vaddq_n_s32(r, p->output_offset);
    r = vmaxq_s32(r, vdupq_n_s32(p->act_min));
    return vminq_s32(r, vdupq_n_s32(p->act_max));
}

/* Stores the four channels o..o+3 of a pixel; the last group of a channel count that is not a
 * multiple of 4 stores only its valid lanes. */
TF_MVE_INLINE void tf_mve_store4(int8_t *out, int32x4_t r, int32_t remaining)
{
    if (remaining >= 4) {
        vstrbq_s32(out, r);
    } else {
        vstrbq_p_s32(out, r, vctp32q((uint32_t)remaining));
    }
}

/* 16 bytes of interleaved weights: their 4-byte alignment (the generator's arrays) allows a word
 * load, whose immediate offset reaches +-508 bytes where a byte load reaches +-127. */
TF_MVE_INLINE int8x16_t tf_mve_ldw(const int8_t *w)
{
    return vreinterpretq_s8_s32(vldrwq_s32((const int32_t *)(const void *)w));
}

TF_MVE_INLINE void tf_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vstrbq_s8(dst + i, vldrbq_s8(src + i));
    }
    if (i < n) {
        const mve_pred16_t m = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, m), m);
    }
}

TF_MVE_INLINE void tf_mve_fill(int8_t *dst, int8x16_t v, int32_t n)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vstrbq_s8(dst + i, v);
    }
    if (i < n) {
        vstrbq_p_s8(dst + i, v, vctp8q((uint32_t)(n - i)));
    }
}

/* ---- CONV_2D / FULLY_CONNECTED -------------------------------------------------------------------
 * Weights: per group of four output channels (zero channels pad the last group), per chunk of 16
 * filter bytes (zeros pad the last chunk), the four channels' 16 bytes one after the other:
 * [group][chunk][4][16]. One column load then feeds four VMLADAVA. */

/* The four accumulators of output channels o..o+3 for one column x of k bytes. */
TF_MVE_INLINE int32x4_t tf_mve_dot4(const tf_mve_conv_t *p, const int8_t *x, const int8_t *w,
                                    const tf_mve_rq_t *q)
{
    const int32_t k = p->k, full = k / 16;
    int32_t a0 = q->bias[0], a1 = q->bias[1], a2 = q->bias[2], a3 = q->bias[3];
    for (int32_t j = 0; j < full; ++j, x += 16, w += 64) {
        const int8x16_t v = vldrbq_s8(x);
        a0 = vmladavaq_s8(a0, v, tf_mve_ldw(w));
        a1 = vmladavaq_s8(a1, v, tf_mve_ldw(w + 16));
        a2 = vmladavaq_s8(a2, v, tf_mve_ldw(w + 32));
        a3 = vmladavaq_s8(a3, v, tf_mve_ldw(w + 48));
    }
    if (k % 16) {
        /* a predicated load reads nothing past the column (which may be the end of the input) */
        const int8x16_t v = vldrbq_z_s8(x, vctp8q((uint32_t)(k % 16)));
        a0 = vmladavaq_s8(a0, v, tf_mve_ldw(w));
        a1 = vmladavaq_s8(a1, v, tf_mve_ldw(w + 16));
        a2 = vmladavaq_s8(a2, v, tf_mve_ldw(w + 32));
        a3 = vmladavaq_s8(a3, v, tf_mve_ldw(w + 48));
    }
    return tf_mve_pack4(a0, a1, a2, a3);
}

/* All output channels of one pixel whose column is x. */
TF_MVE_INLINE void tf_mve_conv_pixel(const tf_mve_conv_t *p, const int8_t *x, const int8_t *weights,
                                     const tf_mve_rq_t *rq, int8_t *out)
{
    const int32_t oc = p->g.out_c, group_bytes = (p->k + 15) / 16 * 64;
    int32_t o = 0;
    for (; o + 4 <= oc; o += 4, ++rq, weights += group_bytes) {
        tf_mve_store4(out + o, tf_mve_requant(p, tf_mve_dot4(p, x, weights, rq), rq), 4);
    }
    if (o < oc) {
        tf_mve_store4(out + o, tf_mve_requant(p, tf_mve_dot4(p, x, weights, rq), rq), oc - o);
    }
}

/* The receptive field of output pixel (oy, ox) as k contiguous bytes, padded taps = pad_value. */
TF_MVE_INLINE void tf_mve_im2col(const tf_mve_conv_t *p, const int8_t *input, int32_t oy, int32_t ox, int8_t *col)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, row = g->k_w * ic;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    for (int32_t ky = 0; ky < g->k_h; ++ky, col += row) {
        const int32_t iy = iy0 + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            tf_mve_fill(col, pad, row);
        } else if (g->dil_w == 1 && ix0 >= 0 && ix0 + g->k_w <= g->in_w) {
            tf_mve_copy(col, input + (iy * g->in_w + ix0) * ic, row);
        } else {
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = ix0 + kx * g->dil_w;
                if (ix >= 0 && ix < g->in_w) {
                    tf_mve_copy(col + kx * ic, input + (iy * g->in_w + ix) * ic, ic);
                } else {
                    tf_mve_fill(col + kx * ic, pad, ic);
                }
            }
        }
    }
}

/* CONV_2D (weights as above, from OHWI) and FULLY_CONNECTED (a 1x1 CONV_2D over 'batches' pixels of
 * in_c values). col: k bytes of scratch unless direct. */
TF_MVE_INLINE void tf_mve_conv_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                  const tf_mve_rq_t *rq, int8_t *col, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, oc = g->out_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox, output += oc) {
                const int8_t *x = col;
                if (p->direct) {
                    x = in_b + (oy * g->stride_h * g->in_w + ox * g->stride_w) * ic;
                } else {
                    tf_mve_im2col(p, in_b, oy, ox, col);
                }
                tf_mve_conv_pixel(p, x, weights, rq, output);
            }
        }
    }
}

/* ---- DEPTHWISE_CONV_2D (depth multiplier 1) ------------------------------------------------------
 * Weights: per group of four channels (zero channels pad the last group), the k_h * k_w taps' four
 * bytes: [group][tap][4]. Input rows are copied into a strip of k_h rows, each strip_w pixels wide
 * with the left and right padding (pad_value) in place, so every tap of every output pixel is at a
 * constant offset and no tap is tested against the borders. */

/* The strip rows of output row oy. The padding columns were filled once by the caller; only rows
 * that fall in the vertical padding are filled with pad_value here. */
TF_MVE_INLINE void tf_mve_dw_strip(const tf_mve_conv_t *p, const int8_t *in_b, int32_t oy, int8_t *strip)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, row_bytes = p->strip_w * c_n;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    int8_t *dst = strip + g->pad_w * c_n;
    for (int32_t ky = 0; ky < g->k_h; ++ky, dst += row_bytes) {
        const int32_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            tf_mve_fill(dst, pad, g->in_w * c_n);
        } else {
            tf_mve_copy(dst, in_b + iy * g->in_w * c_n, g->in_w * c_n);
        }
    }
}

/* Channels c..c+3 of one output pixel whose top-left tap is at src (in the strip). */
TF_MVE_INLINE void tf_mve_dw_group(const tf_mve_conv_t *p, const int8_t *src, const int8_t *w,
                                   const tf_mve_rq_t *q, int8_t *out, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, row_bytes = p->strip_w * c_n;
    int32x4_t acc = vldrwq_s32(q->bias);
#pragma GCC unroll 16
    for (int32_t t = 0; t < g->k_h * g->k_w; ++t) {
        const int8_t *x = src + (t / g->k_w) * g->dil_h * row_bytes + (t % g->k_w) * g->dil_w * c_n;
        const int32x4_t xv = remaining >= 4 ? vldrbq_s32(x) : vldrbq_z_s32(x, vctp32q((uint32_t)remaining));
        acc = vaddq_s32(acc, vmulq_s32(xv, vldrbq_s32(w + 4 * t)));
    }
    tf_mve_store4(out, tf_mve_requant(p, acc, q), remaining);
}

TF_MVE_INLINE void tf_mve_depthwise_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                       const tf_mve_rq_t *rq, int8_t *strip, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, taps = g->k_h * g->k_w;
    tf_mve_fill(strip, vdupq_n_s8((int8_t)p->pad_value), g->k_h * p->strip_w * c_n);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * c_n;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            tf_mve_dw_strip(p, in_b, oy, strip);
            for (int32_t ox = 0; ox < g->out_w; ++ox, output += c_n) {
                const int8_t *src = strip + ox * g->stride_w * c_n;
                const int8_t *w = weights;
                const tf_mve_rq_t *q = rq;
                int32_t c = 0;
                for (; c + 4 <= c_n; c += 4, w += 4 * taps, ++q) {
                    tf_mve_dw_group(p, src + c, w, q, output + c, 4);
                }
                if (c < c_n) {
                    tf_mve_dw_group(p, src + c, w, q, output + c, c_n - c);
                }
            }
        }
    }
}

#endif
