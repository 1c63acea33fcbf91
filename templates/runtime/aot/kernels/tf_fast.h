/* Shape-specialised int8 kernels for cores with the DSP extension (SMLAD & co).
 *
 * Every function here is always_inline: model.c calls each one from a small per-layer function
 * with a static const parameter block, so GCC propagates the layer's shape (channels, kernel size,
 * strides) as constants, unrolls the tap loops and addresses rows with immediate offsets.
 *
 * The same code compiles for the host with C versions of the few DSP instructions it uses, so the
 * host harness checks this exact arithmetic against TFLite's reference kernels bit for bit.
 *
 * Requantisation (tf_rq_t) is TFLite's MultiplyByQuantizedMultiplier rewritten for cheap
 * instructions; the generator only selects it when its range conditions hold for the layer
 * (quant.py: fast_requant), otherwise it emits the generic kernels of tf_conv.c. */
#ifndef TF_FAST_H
#define TF_FAST_H

#include <stdint.h>
#include <string.h>
#include "tf_kernels.h"

#define TF_ALWAYS_INLINE static inline __attribute__((always_inline))
/* Per-layer functions: kept apart (readable disassembly) and optimised at -O3 whatever the build's
 * level, whose loop transformations take kws from 2.08 to 1.98 instructions per MAC on the M7.
 * Without the scheduling pass before register allocation: it interleaves the independent MAC chains
 * of an unrolled tap loop so eagerly that they no longer fit the 13 registers and spill (measured on
 * the M7: kws 1.99 -> 1.80, vww 1.86 -> 1.72 instructions per MAC). */
#define TF_LAYER_ATTRS __attribute__((noinline, optimize("O3", "no-schedule-insns")))

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
TF_ALWAYS_INLINE uint32_t tf_sxtb16_lo(uint32_t x) { return (uint32_t)__sxtb16(x); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_hi(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));   /* GCC does not fold a ROR into __sxtb16 */
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smlad_(uint32_t a, uint32_t b, int32_t acc) { return __smlad(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smlabb_(uint32_t a, uint32_t b, int32_t acc) { return __smlabb(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smlatt_(uint32_t a, uint32_t b, int32_t acc) { return __smlatt(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smmla(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_ssat8(int32_t x) { return __ssat(x, 8); }
#else
/* C definitions of the same instructions (ARM ARM A7.7: SXTB16, SMLAD, SMLABB/SMLATT, SMMULR, SSAT);
 * little-endian, as the MCUs. */
TF_ALWAYS_INLINE int32_t tf_lo16(uint32_t x) { return (int16_t)(x & 0xffffu); }
TF_ALWAYS_INLINE int32_t tf_hi16(uint32_t x) { return (int16_t)(x >> 16); }
TF_ALWAYS_INLINE uint32_t tf_pack16(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_lo(uint32_t x) { return tf_pack16((int8_t)x, (int8_t)(x >> 16)); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_hi(uint32_t x) { return tf_pack16((int8_t)(x >> 8), (int8_t)(x >> 24)); }
TF_ALWAYS_INLINE int32_t tf_smlad_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_lo16(a) * tf_lo16(b)) + (uint32_t)(tf_hi16(a) * tf_hi16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smlabb_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_lo16(a) * tf_lo16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smlatt_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_hi16(a) * tf_hi16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + 0x80000000ll) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_smmlar(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)(((int64_t)a * b + (int64_t)((uint64_t)(uint32_t)acc << 32) + 0x80000000ll) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_smmla(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)(((int64_t)a * b + (int64_t)((uint64_t)(uint32_t)acc << 32)) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
#endif

TF_ALWAYS_INLINE uint32_t tf_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

TF_ALWAYS_INLINE void tf_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* Per output channel: out = clamp(((smmulr(acc << left, mult) + round + sign) >> right), lo, hi) with
 * left = TFLite's left shift + 1 and round = 2^(right-1) + output_offset * 2^right. This equals
 * TFLite's rounding doubling high multiply, rounding right shift and output offset when
 * |acc| * 2^left < 2^31 and right >= 1, which the generator proves from the layer's weights. */
typedef struct {
    int32_t mult, left, right, round;
} tf_rq_t;

/* mode 1 (one rounding): the layer's act_min >= output offset, so every r < 0 ends at act_min
 * whatever the sign correction does (both roundings give at most the offset), and the correction
 * can go: SMMLAR adds round inside the multiply, (smmulr(x, m) + round) in one instruction.
 * mode R >= 2 (shared shift): the same, with rows rewritten by quant.shared_shift_requant so every
 * channel shifts right by the layer's constant R, which SSAT applies for free; SMMLA, not SMMLAR,
 * as the rounding offsets are in round. mode 0: TFLite's double rounding, exactly. */
TF_ALWAYS_INLINE int8_t tf_rq(int32_t acc, const tf_rq_t *q, int32_t lo, int32_t hi, int32_t mode)
{
    int32_t r;
    if (mode >= 2) {
        r = tf_smmla((int32_t)((uint32_t)acc << q->left), q->mult, q->round) >> mode;
    } else if (mode == 1) {
        r = tf_smmlar((int32_t)((uint32_t)acc << q->left), q->mult, q->round) >> q->right;
    } else {
        r = tf_smmulr((int32_t)((uint32_t)acc << q->left), q->mult);
        r = (r + (r >> 31) + q->round) >> q->right;
    }
    r = tf_ssat8(r);
    if (lo > -128) {
        r = r < lo ? lo : r;
    }
    if (hi < 127) {
        r = r > hi ? hi : r;
    }
    return (int8_t)r;
}

/* Layer constants of the fast CONV_2D / DEPTHWISE_CONV_2D. kp: filter size k_h*k_w*in_c rounded up
 * to 4, or to 2 for the int16-weight CONV_2D (the weights are zero-padded to it at generation time). */
typedef struct {
    tf_geom_t g;
    int32_t kp, pad_value, act_min, act_max;
    int32_t rq_mode; /* tf_rq: 0 exact, 1 one rounding (act_min >= output offset), >= 2 shared shift */
} tf_fast_conv_t;

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

/* DEPTHWISE_CONV_2D.
 *
 * Each output row first gathers the k_h input rows its taps read into a strip in scratch, padded
 * left and right with pad_value (a row above or below the input is all pad_value). Every output
 * pixel is then "interior": tap (ky, kx) of channel group c is a constant offset from the pixel's
 * place in the strip, with no bounds test and no pointer table. Copying costs about one word per
 * tap row and channel group, a few percent of the MACs.
 *
 * Depth multiplier m > 1 (or an output depth not a multiple of 4): the strip holds the output's
 * channels, each input channel written m times (strip channel j is input channel j / m), rounded up
 * to a multiple of 4 with channels of zero weight; the MAC loop is then the multiplier-1 loop on
 * out_c channels, and only the copy into the strip differs (tf_dw_strip_expand).
 *
 * Weights come widened by the generator, in SXTB16 order and group-major: for channels c..c+3 and
 * tap t, the words (w_c | w_c+2 << 16, w_c+1 | w_c+3 << 16) at [c/4][t], so a group's taps are
 * one short run read with LDRD. Four channels per pass, SMLABB/SMLATT lane by lane; two
 * horizontally adjacent pixels share each weight load where the row allows. */
typedef struct {
    uint32_t lo, hi;
} tf_w2_t;

TF_ALWAYS_INLINE void tf_dw_strip(const tf_fast_conv_t *p, const int8_t *in_b, int32_t oy, int8_t *strip,
                                  int32_t strip_w)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, row = strip_w * c_n;
    const int32_t left = g->pad_w < strip_w ? g->pad_w : strip_w;
    int32_t n = strip_w - left < g->in_w ? strip_w - left : g->in_w;   /* input columns the taps reach */
    n = n < 0 ? 0 : n;
    for (int32_t ky = 0; ky < g->k_h; ++ky, strip += row) {
        const int32_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            memset(strip, p->pad_value, (size_t)row);
            continue;
        }
        memset(strip, p->pad_value, (size_t)(left * c_n));
        memcpy(strip + left * c_n, in_b + iy * g->in_w * c_n, (size_t)(n * c_n));
        memset(strip + (left + n) * c_n, p->pad_value, (size_t)((strip_w - left - n) * c_n));
    }
}

/* tf_dw_strip for a strip of cs channels per pixel, channel j being input channel j / m (a channel
 * past out_c repeats the last one; its weights are zero). */
TF_ALWAYS_INLINE void tf_dw_strip_expand(const tf_fast_conv_t *p, const int8_t *in_b, int32_t oy, int8_t *strip,
                                         int32_t strip_w, int32_t cs, int32_t m)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, row = strip_w * cs, last = g->out_c - 1;
    const int32_t left = g->pad_w < strip_w ? g->pad_w : strip_w;
    int32_t n = strip_w - left < g->in_w ? strip_w - left : g->in_w;
    n = n < 0 ? 0 : n;
    for (int32_t ky = 0; ky < g->k_h; ++ky, strip += row) {
        const int32_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            memset(strip, p->pad_value, (size_t)row);
            continue;
        }
        memset(strip, p->pad_value, (size_t)(left * cs));
        const int8_t *s = in_b + iy * g->in_w * ic;
        int8_t *d = strip + left * cs;
        for (int32_t x = 0; x < n; ++x, s += ic, d += cs) {
#pragma GCC unroll 64   /* cs and m are constants: one load per input channel, one store per byte */
            for (int32_t j = 0; j < cs; ++j) {
                d[j] = s[(j < last ? j : last) / m];
            }
        }
        memset(d, p->pad_value, (size_t)((strip_w - left - n) * cs));
    }
}

/* One pixel (pair = 0) or two adjacent ones (pair = 1), channels c..c+3 of a strip of cs channels
 * per pixel; x points at the first pixel's top-left tap in the strip for channel c, w at the
 * group's widened weights; out's pixels are oc channels apart, of which the group stores
 * 'remaining' (4 unless it is the last group of an output depth not a multiple of 4). */
TF_ALWAYS_INLINE void tf_dw_px_n(const tf_fast_conv_t *p, const int8_t *x, const tf_w2_t *w, const int32_t *bias,
                                 const tf_rq_t *rq, int32_t row, int32_t pair, int8_t *out, int32_t cs,
                                 int32_t oc, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    const int32_t step = g->stride_w * cs;
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    int32_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
#pragma GCC unroll 25
    for (int32_t t = 0; t < g->k_h * g->k_w; ++t) {
        const int32_t off = (t / g->k_w) * row + (t % g->k_w) * g->dil_w * cs;
        const uint32_t w02 = w[t].lo, w13 = w[t].hi;
        uint32_t v = tf_ld32(x + off);
        uint32_t v02 = tf_sxtb16_lo(v), v13 = tf_sxtb16_hi(v);
        a0 = tf_smlabb_(v02, w02, a0);
        a2 = tf_smlatt_(v02, w02, a2);
        a1 = tf_smlabb_(v13, w13, a1);
        a3 = tf_smlatt_(v13, w13, a3);
        if (pair) {
            v = tf_ld32(x + off + step);
            v02 = tf_sxtb16_lo(v), v13 = tf_sxtb16_hi(v);
            b0 = tf_smlabb_(v02, w02, b0);
            b2 = tf_smlatt_(v02, w02, b2);
            b1 = tf_smlabb_(v13, w13, b1);
            b3 = tf_smlatt_(v13, w13, b3);
        }
    }
    out[0] = tf_rq(a0, &rq[0], p->act_min, p->act_max, p->rq_mode);
    if (remaining > 1) {
        out[1] = tf_rq(a1, &rq[1], p->act_min, p->act_max, p->rq_mode);
    }
    if (remaining > 2) {
        out[2] = tf_rq(a2, &rq[2], p->act_min, p->act_max, p->rq_mode);
    }
    if (remaining > 3) {
        out[3] = tf_rq(a3, &rq[3], p->act_min, p->act_max, p->rq_mode);
    }
    if (pair) {
        out[oc] = tf_rq(b0, &rq[0], p->act_min, p->act_max, p->rq_mode);
        if (remaining > 1) {
            out[oc + 1] = tf_rq(b1, &rq[1], p->act_min, p->act_max, p->rq_mode);
        }
        if (remaining > 2) {
            out[oc + 2] = tf_rq(b2, &rq[2], p->act_min, p->act_max, p->rq_mode);
        }
        if (remaining > 3) {
            out[oc + 3] = tf_rq(b3, &rq[3], p->act_min, p->act_max, p->rq_mode);
        }
    }
}

/* The multiplier-1 pixel: the strip holds the input's channels, which are the output's. */
TF_ALWAYS_INLINE void tf_dw_px(const tf_fast_conv_t *p, const int8_t *x, const tf_w2_t *w, const int32_t *bias,
                               const tf_rq_t *rq, int32_t row, int32_t pair, int8_t *out)
{
    tf_dw_px_n(p, x, w, bias, rq, row, pair, out, p->g.in_c, p->g.in_c, 4);
}

/* strip: scratch of k_h * strip_w * in_c bytes, strip_w = the columns the taps of a row span. */
TF_ALWAYS_INLINE void tf_fast_depthwise_s8(const tf_fast_conv_t *p, const int8_t *input, const tf_w2_t *weights,
                                           const int32_t *bias, const tf_rq_t *rq, int8_t *strip,
                                           int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, taps = g->k_h * g->k_w;
    const int32_t strip_w = (g->out_w - 1) * g->stride_w + (g->k_w - 1) * g->dil_w + 1, row = strip_w * c_n;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * c_n;
        int8_t *out = output + b * g->out_h * g->out_w * c_n;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            tf_dw_strip(p, in_b, oy, strip, strip_w);
            int32_t ox = 0;
            /* running pointers, so taps and requantisation constants are immediate offsets */
            for (; ox + 2 <= g->out_w; ox += 2, out += 2 * c_n) {
                const int8_t *x = strip + ox * g->stride_w * c_n;
                const tf_w2_t *w = weights;
                for (int32_t c = 0; c < c_n; c += 4, w += taps) {
                    tf_dw_px(p, x + c, w, bias + c, rq + c, row, 1, out + c);
                }
            }
            if (ox < g->out_w) {
                const int8_t *x = strip + ox * g->stride_w * c_n;
                const tf_w2_t *w = weights;
                for (int32_t c = 0; c < c_n; c += 4, w += taps) {
                    tf_dw_px(p, x + c, w, bias + c, rq + c, row, 0, out + c);
                }
                out += c_n;
            }
        }
    }
}

/* DEPTHWISE_CONV_2D with depth multiplier m = out_c / in_c > 1, or any output depth not a multiple
 * of 4. p->kp: the strip's channels cs, out_c rounded up to 4; weights, bias and rq come padded to
 * cs channels (zero weights). strip: scratch of k_h * strip_w * cs bytes. */
TF_ALWAYS_INLINE void tf_fast_depthwise_m_s8(const tf_fast_conv_t *p, const int8_t *input, const tf_w2_t *weights,
                                             const int32_t *bias, const tf_rq_t *rq, int8_t *strip,
                                             int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t cs = p->kp, oc = g->out_c, m = g->out_c / g->in_c, taps = g->k_h * g->k_w;
    const int32_t strip_w = (g->out_w - 1) * g->stride_w + (g->k_w - 1) * g->dil_w + 1, row = strip_w * cs;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        int8_t *out = output + b * g->out_h * g->out_w * oc;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            tf_dw_strip_expand(p, in_b, oy, strip, strip_w, cs, m);
            int32_t ox = 0;
            for (; ox + 2 <= g->out_w; ox += 2, out += 2 * oc) {
                const int8_t *x = strip + ox * g->stride_w * cs;
                const tf_w2_t *w = weights;
                for (int32_t c = 0; c < cs; c += 4, w += taps) {
                    tf_dw_px_n(p, x + c, w, bias + c, rq + c, row, 1, out + c, cs, oc, oc - c);
                }
            }
            if (ox < g->out_w) {
                const int8_t *x = strip + ox * g->stride_w * cs;
                const tf_w2_t *w = weights;
                for (int32_t c = 0; c < cs; c += 4, w += taps) {
                    tf_dw_px_n(p, x + c, w, bias + c, rq + c, row, 0, out + c, cs, oc, oc - c);
                }
                out += oc;
            }
        }
    }
}

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
