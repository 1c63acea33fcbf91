/* Shape-specialised int8 kernels for cores with Helium (M-profile Vector Extension, integer), e.g.
 * the Cortex-M55:
 * - CONV_2D and FULLY_CONNECTED: 16-lane int8 dot products (VMLADAVA.S8), four output channels per
 *   column load, the column an int8 im2col or, for 1x1 filters without padding, the input itself;
 * - DEPTHWISE_CONV_2D: 8 channels in 16-bit lanes multiplied into 32-bit products (VMULLB/T.S16;
 *   MVE has no vector-by-vector integer multiply-accumulate), two output pixels per weight load;
 * - ADD and AVERAGE_POOL_2D: 4 elements per vector (ADD's three rescalings), vector window sums;
 * - per-channel requantisation four lanes at a time, eight channels narrowed and stored together.
 *
 * As in tf_fast.h, every function is always_inline and model.c calls it from a small per-layer
 * function with a static const parameter block, so GCC specialises it for the layer's shape. The
 * innermost loops are short inline-assembly statements: GCC 12 otherwise loses much of the work to
 * moves and spills (each is commented where it appears).
 *
 * Arithmetic contract (tf_kernels.h): int32 accumulators start from the folded bias
 * b - input_zp * sum(w); padded taps read pad_value = input_zp. Requantisation equals TFLite's
 * MultiplyByQuantizedMultiplier, output offset and clamp for every multiplier and shift (see
 * tf_mve_requant and tf_mve_narrow8 for the argument and its one overflow corner), so this path
 * needs no range proof. There is no host build of these kernels (arm_mve.h is Arm-only): they are
 * verified on an emulated Cortex-M55 (QEMU mps3-an547) against the TFLM golden
 * (tests/integration/test_mve_bench.py), and their arithmetic is modelled instruction by
 * instruction in tests/unit/test_mve_generation.py. */
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

/* Layer constants. CONV_2D / FULLY_CONNECTED: k is the filter size k_h * k_w * in_c, processed in
 * ceil(k / 16) chunks of 16 bytes; direct: a 1x1 filter without padding, whose column is the input
 * pixel itself (read in place, no im2col). DEPTHWISE_CONV_2D: the scratch strip keeps strip_rows
 * padded input rows of strip_w pixels. */
typedef struct {
    tf_geom_t g;
    int32_t k, direct, strip_w, strip_rows;
    int32_t pad_value, output_offset, act_min, act_max;
    int32_t left_shift;    /* some channel shifts left: the VSHL is needed */
    int32_t rounding;      /* TF_MVE_ROUND_*: what makes VRSHL's ties TFLite's (tf_mve_requant) */
    int32_t per_tensor;    /* one multiplier and shift for all channels: the records hold biases only */
    int32_t mult, left, right;   /* per_tensor: TFLite's multiplier, max(shift, 0), min(shift, 0) */
} tf_mve_conv_t;

/* Requantisation records, one per four accumulator lanes (ops/mve.py: lane_order): int32 bias[4],
 * then, unless the layer is per_tensor, mult[4], left[4] and right[4] as above, per lane, so that
 * each is one vector load. TF_MVE_RQ(p, q, i): the i-th record after q. */
#define TF_MVE_RQ(p, q, i) ((q) + (i) * ((p)->per_tensor ? 4 : 16))
#define TF_MVE_RQ_MULT 1
#define TF_MVE_RQ_LEFT 2
#define TF_MVE_RQ_RIGHT 3

#define TF_MVE_ROUND_UP 0      /* nothing: act_min >= output_offset */
#define TF_MVE_ROUND_SIGN 1    /* subtract the sign: every channel shifts right */
#define TF_MVE_ROUND_MASKED 2  /* subtract the sign where the channel shifts right */

/* Four int32 lanes from four general registers in two instructions (VMOV Q[2],Q[0],Rt,Rt2 has no
 * intrinsic; vsetq_lane takes four). */
TF_MVE_INLINE int32x4_t tf_mve_pack4(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\tvmov %q0[3], %q0[1], %3, %4"
            : "=&w"(v) : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}

/* A vector load that GCC may neither hoist out of a loop nor merge with another: it otherwise hoists
 * the records and biases out of pixel loops (the depthwise one; a convolution's whose channel loop
 * it unrolled) and, short of vector registers, spills them (two instructions per use instead of one
 * load). */
TF_MVE_INLINE int32x4_t tf_mve_ldq(const int32_t *p)
{
    int32x4_t v;
    __asm__ volatile("vldrw.32 %q0, [%1]" : "=w"(v) : "r"(p), "m"(*(const int32_t(*)[4])p));
    return v;
}

/* A record's multipliers or shifts (TF_MVE_RQ_*), or the layer's for a per-tensor layer. */
TF_MVE_INLINE int32x4_t tf_mve_rq(const tf_mve_conv_t *p, const int32_t *q, int field)
{
    if (p->per_tensor) {
        return vdupq_n_s32(field == TF_MVE_RQ_MULT ? p->mult : field == TF_MVE_RQ_LEFT ? p->left : p->right);
    }
    return tf_mve_ldq(q + 4 * field);
}

/* TFLite's MultiplyByQuantizedMultiplier, per lane:
 * - VSHL by a positive lane shift is TFLite's acc * 2^left (wrapping, as tf_requantize).
 * - VQRDMULH is SaturatingRoundingDoublingHighMul: both give floor((a*b + 2^30) / 2^31), saturated
 *   only for INT32_MIN * INT32_MIN (gemmlowp's nudge 1 - 2^30 with truncating division for negative
 *   products is the same floor).
 * - RoundingDivideByPOT rounds halves away from zero; VRSHL by -n rounds them up. Subtracting 1
 *   from negative values first turns one into the other: floor((x - 1 + 2^(n-1)) / 2^n). The -1 is
 *   the lane's sign bit (TF_MVE_ROUND_SIGN), masked by the sign bit of -n where n may be 0
 *   (TF_MVE_ROUND_MASKED); VQADD keeps INT32_MIN, whose result is the same either way. The two
 *   roundings differ only for negative x, whose result is <= 0 both ways; when act_min >=
 *   output_offset every such result clamps to act_min, so the layer needs no fix
 *   (TF_MVE_ROUND_UP). */
TF_MVE_INLINE int32x4_t tf_mve_requant_v(const tf_mve_conv_t *p, int32x4_t acc, int32x4_t mult, int32x4_t right,
                                         int32x4_t left)
{
    if (p->left_shift) {
        acc = vshlq_s32(acc, left);
    }
    int32x4_t r = vqrdmulhq_s32(acc, mult);
    if (p->rounding == TF_MVE_ROUND_SIGN) {
        r = vqaddq_s32(r, vshrq_n_s32(r, 31));
    } else if (p->rounding == TF_MVE_ROUND_MASKED) {
        r = vqaddq_s32(r, vshrq_n_s32(vandq_s32(r, right), 31));
    }
    return vrshlq_s32(r, right);
}

TF_MVE_INLINE int32x4_t tf_mve_requant(const tf_mve_conv_t *p, int32x4_t acc, const int32_t *q)
{
    return tf_mve_requant_v(p, acc, tf_mve_rq(p, q, TF_MVE_RQ_MULT), tf_mve_rq(p, q, TF_MVE_RQ_RIGHT),
                            p->left_shift ? tf_mve_rq(p, q, TF_MVE_RQ_LEFT) : acc);
}

/* Eight requantised channels of one pixel, 'even' holding the group's channels 0, 2, 4, 6 and 'odd'
 * 1, 3, 5, 7: narrowed with saturation into 16-bit lanes in channel order, offset (saturating),
 * narrowed with saturation into the even bytes, and clamped where the activation is narrower than
 * int8, each step once for all eight. The saturations cannot change a result: a value beyond a
 * narrower type clamps to the same activation bound either way. (TFLite adds the offset in int32,
 * wrapping; the two differ only if |requantised value| > 2^31 - 129, i.e. |acc * 2^left| within
 * 2^8 of 2^31 and a multiplier within 2^8 of 2^31.) tf_mve_store8 stores the even bytes. */
TF_MVE_INLINE int16x8_t tf_mve_narrow8(const tf_mve_conv_t *p, int32x4_t even, int32x4_t odd)
{
    /* In place (Qd = Qm: each narrowed lane stays within its source lane); GCC's intrinsics
     * copy the dead source to a fresh register first. */
    if (p->output_offset) {
        __asm__("vqmovnb.s32 %q[v], %q[v]\n\t"
                "vqmovnt.s32 %q[v], %q[o]\n\t"
                "vqadd.s16 %q[v], %q[v], %[z]\n\t"
                "vqmovnb.s16 %q[v], %q[v]"
                : [v] "+w"(even) : [o] "w"(odd), [z] "r"(p->output_offset));
    } else {
        __asm__("vqmovnb.s32 %q[v], %q[v]\n\t"
                "vqmovnt.s32 %q[v], %q[o]\n\t"
                "vqmovnb.s16 %q[v], %q[v]"
                : [v] "+w"(even) : [o] "w"(odd));
    }
    int8x16_t b = vreinterpretq_s8_s32(even);
    if (p->act_min > -128) {
        b = vmaxq_s8(b, vdupq_n_s8((int8_t)p->act_min));
    }
    if (p->act_max < 127) {
        b = vminq_s8(b, vdupq_n_s8((int8_t)p->act_max));
    }
    return vreinterpretq_s16_s8(b);
}

/* tf_mve_narrow8 of the accumulators of record q (even channels) and the next (odd). */
TF_MVE_INLINE int16x8_t tf_mve_finish8(const tf_mve_conv_t *p, int32x4_t even, int32x4_t odd, const int32_t *q)
{
    return tf_mve_narrow8(p, tf_mve_requant(p, even, q), tf_mve_requant(p, odd, TF_MVE_RQ(p, q, 1)));
}

/* Stores the low bytes of eight 16-bit lanes; a last group of fewer channels stores only its valid
 * lanes. */
TF_MVE_INLINE void tf_mve_store8(int8_t *out, int16x8_t v, int32_t remaining)
{
    if (remaining >= 8) {
        vstrbq_s16(out, v);
    } else {
        vstrbq_p_s16(out, v, vctp16q((uint32_t)remaining));
    }
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

/* One chunk: 16 column bytes (v) against four weight rows, added to a0..a3. Inline assembly
 * because VMLADAVA's accumulator must be an even register (constraint Te), which GCC 12's allocator
 * satisfies around the intrinsic only with moves and spills (0.37 instead of 0.21 instructions per
 * MAC on kws' pointwise layers). w advances by the chunk's 64 bytes. TF_MVE_CHUNK4_FIRST starts the
 * accumulators (VMLADAV) instead of adding to them. */
#define TF_MVE_CHUNK4_ASM(op)                                                                       \
    "vldrw.32 %q[t], [%[wp]], #64\n\t"                                                              \
    op ".s8 %[r0], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-48]\n\t"                                                             \
    op ".s8 %[r1], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-32]\n\t"                                                             \
    op ".s8 %[r2], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-16]\n\t"                                                             \
    op ".s8 %[r3], %q[x], %q[t]"
#define TF_MVE_CHUNK4(v, w, a0, a1, a2, a3)                                                         \
    __asm__(TF_MVE_CHUNK4_ASM("vmladava")                                                           \
            : [wp] "+r"(w), [r0] "+Te"(a0), [r1] "+Te"(a1), [r2] "+Te"(a2), [r3] "+Te"(a3),          \
              [t] "=&w"(tf_mve_t_)                                                                  \
            : [x] "w"(v), "m"(*(const int8_t(*)[64])w))
#define TF_MVE_CHUNK4_FIRST(v, w, a0, a1, a2, a3)                                                   \
    __asm__(TF_MVE_CHUNK4_ASM("vmladav")                                                            \
            : [wp] "+r"(w), [r0] "=&Te"(a0), [r1] "=&Te"(a1), [r2] "=&Te"(a2), [r3] "=&Te"(a3),      \
              [t] "=&w"(tf_mve_t_)                                                                  \
            : [x] "w"(v), "m"(*(const int8_t(*)[64])w))

/* The accumulators of four output channels (one record q) for the column x of k bytes; *wp
 * advances past their weights. */
TF_MVE_INLINE int32x4_t tf_mve_dot4(const tf_mve_conv_t *p, const int8_t *x, const int8_t **wp,
                                    const int32_t *q)
{
    const int32_t k = p->k, full = k / 16;
    const int8_t *w = *wp;
    int8x16_t tf_mve_t_;
    int32_t a0, a1, a2, a3;
    if (full > 0) {
        TF_MVE_CHUNK4_FIRST(vldrbq_s8(x), w, a0, a1, a2, a3);
        x += 16;
        for (int32_t j = 1; j < full; ++j, x += 16) {
            TF_MVE_CHUNK4(vldrbq_s8(x), w, a0, a1, a2, a3);
        }
    }
    if (k % 16) {
        /* a predicated load reads nothing past the column (which may be the end of the input) */
        const int8x16_t v = vldrbq_z_s8(x, vctp8q((uint32_t)(k % 16)));
        if (full > 0) {
            TF_MVE_CHUNK4(v, w, a0, a1, a2, a3);
        } else {
            TF_MVE_CHUNK4_FIRST(v, w, a0, a1, a2, a3);
        }
    }
    (void)tf_mve_t_;
    *wp = w;
    return vaddq_s32(tf_mve_pack4(a0, a1, a2, a3), tf_mve_ldq(q));
}

/* All output channels of one pixel whose column is x, eight at a time (two records each). */
TF_MVE_INLINE void tf_mve_conv_pixel(const tf_mve_conv_t *p, const int8_t *x, const int8_t *weights,
                                     const int32_t *rq, int8_t *out)
{
    const int32_t oc = p->g.out_c;
    int32_t o = 0;
    for (; o + 8 <= oc; o += 8, rq = TF_MVE_RQ(p, rq, 2)) {
        const int32x4_t even = tf_mve_dot4(p, x, &weights, rq), odd = tf_mve_dot4(p, x, &weights, TF_MVE_RQ(p, rq, 1));
        tf_mve_store8(out + o, tf_mve_finish8(p, even, odd, rq), 8);
    }
    if (o < oc) {
        const int32x4_t even = tf_mve_dot4(p, x, &weights, rq), odd = tf_mve_dot4(p, x, &weights, TF_MVE_RQ(p, rq, 1));
        tf_mve_store8(out + o, tf_mve_finish8(p, even, odd, rq), oc - o);
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
                                  const int32_t *rq, int8_t *col, int8_t *output)
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
 * Eight channels per pass in 16-bit lanes: MVE has no vector-by-vector integer multiply-accumulate,
 * but VMULLB/VMULLT.S16 multiply the even/odd 16-bit lanes into 32-bit products, so each tap costs
 * two widening loads, two multiplies and two adds for 8 MACs. The accumulators hold the even
 * channels (c, c+2, c+4, c+6) and the odd ones; their requantisation records follow that order.
 *
 * Weights: [group of 8 channels][tap][8] (zero channels pad the last group). The input rows a
 * output row needs are copied into a strip laid out [group][k_h][strip_w][8]: the group's taps are
 * then a few bytes apart (immediate offsets), the left/right padding columns hold pad_value, and no
 * tap is tested against the borders. */

/* Copies input row iy (or, outside the input, pad_value) into strip row 'slot' of every group,
 * between the padding columns (filled once by the caller, never overwritten). */
TF_MVE_INLINE void tf_mve_dw_row_in(const tf_mve_conv_t *p, const int8_t *in_b, int32_t iy, int8_t *strip,
                                    int32_t slot)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, groups = (c_n + 7) / 8, plane = p->strip_rows * p->strip_w * 8;
    int8_t *row = strip + (slot * p->strip_w + g->pad_w) * 8;
    if (iy < 0 || iy >= g->in_h) {
        const int16x8_t pad = vdupq_n_s16((int16_t)p->pad_value);
        for (int32_t c = 0; c < groups; ++c) {
            for (int32_t x = 0; x < g->in_w; ++x) {
                vstrbq_s16(row + c * plane + x * 8, pad);
            }
        }
        return;
    }
    const int8_t *src = in_b + iy * g->in_w * c_n;
    /* group by group, pixel by pixel: both pointers advance by a constant (post-increment) */
    for (int32_t c = 0; c + 8 <= c_n; c += 8) {
        const int8_t *s = src + c;
        int8_t *d = row + (c / 8) * plane;
        for (int32_t x = 0; x < g->in_w; ++x, s += c_n, d += 8) {
            vstrbq_s16(d, vldrbq_s16(s));
        }
    }
    if (c_n % 8) {   /* lanes past the channels meet zero weights and are not stored */
        const mve_pred16_t m = vctp16q((uint32_t)(c_n % 8));
        const int8_t *s = src + c_n / 8 * 8;
        int8_t *d = row + (c_n / 8) * plane;
        for (int32_t x = 0; x < g->in_w; ++x, s += c_n, d += 8) {
            vstrbq_s16(d, vldrbq_z_s16(s, m));
        }
    }
}

/* Which input rows the strip holds: [lo, hi) in consecutive slots from 'slot'. */
typedef struct {
    int32_t lo, hi, slot;
} tf_mve_window_t;

/* Makes the strip hold the k_h input rows of output row oy in consecutive slots and returns the
 * first one. With dil_h = 1 and more slots than k_h, consecutive output rows share their rows:
 * only the new ones are copied, and the window slides down the strip until it would run past its
 * end, when the rows still needed move back to slot 0. Otherwise all k_h rows are copied. */
TF_MVE_INLINE int8_t *tf_mve_dw_window(const tf_mve_conv_t *p, const int8_t *in_b, int32_t oy, int8_t *strip,
                                       tf_mve_window_t *w)
{
    const tf_geom_t *g = &p->g;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, row_bytes = p->strip_w * 8;
    if (g->dil_h != 1 || p->strip_rows <= g->k_h) {
        for (int32_t ky = 0; ky < g->k_h; ++ky) {
            tf_mve_dw_row_in(p, in_b, iy0 + ky * g->dil_h, strip, ky);
        }
        return strip;
    }
    if (oy == 0 || w->hi <= iy0) {
        w->lo = w->hi = iy0, w->slot = 0;
    } else {
        w->slot += iy0 - w->lo, w->lo = iy0;
    }
    if (w->slot + g->k_h > p->strip_rows) {
        const int32_t groups = (g->in_c + 7) / 8, plane = p->strip_rows * row_bytes;
        for (int32_t c = 0; c < groups; ++c) {   /* slot >= k_h > rows kept: no overlap */
            tf_mve_copy(strip + c * plane, strip + c * plane + w->slot * row_bytes, (w->hi - w->lo) * row_bytes);
        }
        w->slot = 0;
    }
    for (; w->hi < iy0 + g->k_h; ++w->hi) {
        tf_mve_dw_row_in(p, in_b, w->hi, strip, w->slot + w->hi - w->lo);
    }
    return strip + w->slot * row_bytes;
}

/* One tap of eight channels for one pixel (TAP) or two (TAP2, xb: the second pixel): x and w,
 * 8 bytes each widened to 16 bits, multiplied lane by lane into the even and odd accumulators; the
 * pointers advance by 8. Inline assembly so that GCC keeps the weight loads in the loop instead of
 * hoisting all taps' weights out of it and spilling them (8 vector registers cannot hold them).
 * VMULLB/T with 32-bit results need a destination distinct from their sources, hence the
 * early-clobber temporaries; widening loads take a low base register (constraint l). */
#define TF_MVE_DW_TAP(xp, wp, e0, o0)                                                               \
    __asm__("vldrb.s16 %q[w], [%[wa]], #8\n\t"                                                      \
            "vldrb.s16 %q[x], [%[xa]], #8\n\t"                                                      \
            "vmullb.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[e], %q[e], %q[t]\n\t"                                                      \
            "vmullt.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[o], %q[o], %q[t]"                                                          \
            : [xa] "+l"(xp), [wa] "+l"(wp), [e] "+w"(e0), [o] "+w"(o0), [x] "=&w"(tf_mve_x_),       \
              [w] "=&w"(tf_mve_w_), [t] "=&w"(tf_mve_t_)                                             \
            : "m"(*(const int8_t(*)[8])xp), "m"(*(const int8_t(*)[8])wp))
#define TF_MVE_DW_TAP2(xp, xb, wp, e0, o0, e1, o1)                                                  \
    __asm__("vldrb.s16 %q[w], [%[wa]], #8\n\t"                                                      \
            "vldrb.s16 %q[x], [%[xa]], #8\n\t"                                                      \
            "vmullb.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[e], %q[e], %q[t]\n\t"                                                      \
            "vmullt.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[o], %q[o], %q[t]\n\t"                                                      \
            "vldrb.s16 %q[x], [%[xc]], #8\n\t"                                                      \
            "vmullb.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[e1], %q[e1], %q[t]\n\t"                                                    \
            "vmullt.s16 %q[t], %q[x], %q[w]\n\t"                                                    \
            "vadd.i32 %q[o1], %q[o1], %q[t]"                                                        \
            : [xa] "+l"(xp), [xc] "+l"(xb), [wa] "+l"(wp), [e] "+w"(e0), [o] "+w"(o0),              \
              [e1] "+w"(e1), [o1] "+w"(o1), [x] "=&w"(tf_mve_x_), [w] "=&w"(tf_mve_w_),              \
              [t] "=&w"(tf_mve_t_)                                                                  \
            : "m"(*(const int8_t(*)[8])xp), "m"(*(const int8_t(*)[8])xb), "m"(*(const int8_t(*)[8])wp))

/* Finishes n (1 or 2) pixels of eight channels, loading the records once: the narrowed results
 * (tf_mve_narrow8) replace e[i]. Even channels first, so that only two accumulators and two records
 * are live at a time. */
TF_MVE_INLINE int16x8_t tf_mve_dw_finish(const tf_mve_conv_t *p, int32x4_t *e, int32x4_t *o, int n,
                                         const int32_t *q)
{
    int32x4_t left = e[0];
    if (p->left_shift) {
        left = tf_mve_rq(p, q, TF_MVE_RQ_LEFT);
    }
    int32x4_t mult = tf_mve_rq(p, q, TF_MVE_RQ_MULT), right = tf_mve_rq(p, q, TF_MVE_RQ_RIGHT);
    for (int i = 0; i < n; ++i) {
        e[i] = tf_mve_requant_v(p, e[i], mult, right, left);
    }
    q = TF_MVE_RQ(p, q, 1);
    if (p->left_shift) {
        left = tf_mve_rq(p, q, TF_MVE_RQ_LEFT);
    }
    mult = tf_mve_rq(p, q, TF_MVE_RQ_MULT), right = tf_mve_rq(p, q, TF_MVE_RQ_RIGHT);
    for (int i = 0; i < n; ++i) {
        e[i] = vreinterpretq_s32_s16(tf_mve_narrow8(p, e[i], tf_mve_requant_v(p, o[i], mult, right, left)));
    }
    return vreinterpretq_s16_s32(e[0]);
}

/* One output pixel, eight channels; x: the group's top-left tap in the strip, whose consecutive
 * slots hold the k_h tap rows (tf_mve_dw_window), so the next tap row is one slot down whatever
 * the dilation. */
TF_MVE_INLINE void tf_mve_dw_pixel(const tf_mve_conv_t *p, const int8_t *x, const int8_t *w,
                                   const int32_t *q, int8_t *out, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    int16x8_t tf_mve_x_, tf_mve_w_;
    int32x4_t tf_mve_t_;
    int32x4_t e0 = tf_mve_ldq(q), o0 = tf_mve_ldq(TF_MVE_RQ(p, q, 1));
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            TF_MVE_DW_TAP(x, w, e0, o0);
            x += (g->dil_w - 1) * 8;
        }
        x += (p->strip_w - g->k_w * g->dil_w) * 8;   /* next slot: dilated rows are stored adjacent */
    }
    (void)tf_mve_x_, (void)tf_mve_w_, (void)tf_mve_t_;
    tf_mve_store8(out, tf_mve_dw_finish(p, &e0, &o0, 1, q), remaining);
}

/* Two horizontally adjacent output pixels: each weight load serves both, and both are
 * requantised before either is stored, so the records are loaded once. */
TF_MVE_INLINE void tf_mve_dw_pixel2(const tf_mve_conv_t *p, const int8_t *x, const int8_t *w,
                                    const int32_t *q, int8_t *out, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    int16x8_t tf_mve_x_, tf_mve_w_;
    int32x4_t tf_mve_t_;
    int32x4_t e0 = tf_mve_ldq(q), o0 = tf_mve_ldq(TF_MVE_RQ(p, q, 1)), e1 = e0, o1 = o0;
    const int8_t *xb = x + g->stride_w * 8;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            TF_MVE_DW_TAP2(x, xb, w, e0, o0, e1, o1);
            x += (g->dil_w - 1) * 8;
            xb += (g->dil_w - 1) * 8;
        }
        x += (p->strip_w - g->k_w * g->dil_w) * 8;   /* next slot: dilated rows are stored adjacent */
        xb += (p->strip_w - g->k_w * g->dil_w) * 8;
    }
    (void)tf_mve_x_, (void)tf_mve_w_, (void)tf_mve_t_;
    int32x4_t e[2] = {e0, e1}, o[2] = {o0, o1};
    tf_mve_dw_finish(p, e, o, 2, q);
    tf_mve_store8(out, vreinterpretq_s16_s32(e[0]), remaining);
    tf_mve_store8(out + g->in_c, vreinterpretq_s16_s32(e[1]), remaining);
}

/* One output row of one group of eight channels (remaining: channels in the group, up to 8). */
TF_MVE_INLINE void tf_mve_dw_row(const tf_mve_conv_t *p, const int8_t *src, const int8_t *w, const int32_t *q,
                                 int8_t *out, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    int32_t ox = 0;
    for (; ox + 2 <= g->out_w; ox += 2, src += 2 * g->stride_w * 8, out += 2 * g->in_c) {
        tf_mve_dw_pixel2(p, src, w, q, out, remaining);
    }
    if (ox < g->out_w) {
        tf_mve_dw_pixel(p, src, w, q, out, remaining);
    }
}

TF_MVE_INLINE void tf_mve_depthwise_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                       const int32_t *rq, int8_t *strip, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, taps = g->k_h * g->k_w, full = c_n / 8;
    const int32_t plane = p->strip_rows * p->strip_w * 8;
    tf_mve_window_t window = {0, 0, 0};
    tf_mve_fill(strip, vdupq_n_s8((int8_t)p->pad_value), (c_n + 7) / 8 * plane);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * c_n;
        for (int32_t oy = 0; oy < g->out_h; ++oy, output += g->out_w * c_n) {
            const int8_t *rows = tf_mve_dw_window(p, in_b, oy, strip, &window);
            for (int32_t c = 0; c < full; ++c) {
                tf_mve_dw_row(p, rows + c * plane, weights + c * taps * 8, TF_MVE_RQ(p, rq, 2 * c), output + c * 8, 8);
            }
            if (c_n % 8) {
                tf_mve_dw_row(p, rows + full * plane, weights + full * taps * 8, TF_MVE_RQ(p, rq, 2 * full), output + full * 8,
                              c_n % 8);
            }
        }
    }
}

/* ---- ADD (same shapes) ---------------------------------------------------------------------------
 * TFLite's AddElementwise for four elements per vector, with tf_add_params_t (tf_kernels.h): both
 * inputs offset and shifted left, each rescaled by MultiplyByQuantizedMultiplierSmallerThanOneExp,
 * summed, rescaled to the output (same rounding argument as tf_mve_requant), offset and clamped.
 * (x + offset) * 2^left_shift is one VMLAS: x * 2^left_shift + offset * 2^left_shift, both exact
 * in int32 (|x + offset| <= 255, left_shift 20). */

/* RoundingDivideByPOT by a layer constant n >= 0 (nothing to do for n = 0); half_up: ties of
 * negative values may round up (see tf_mve_requant: TF_MVE_ROUND_UP). */
TF_MVE_INLINE int32x4_t tf_mve_rdbpot(int32x4_t x, int32_t n, int half_up)
{
    if (n == 0) {
        return x;
    }
    if (!half_up) {
        x = vqaddq_s32(x, vshrq_n_s32(x, 31));
    }
    return vrshlq_n_s32(x, -n);
}

TF_MVE_INLINE int32x4_t tf_mve_add4(const tf_add_params_t *p, int32x4_t a, int32x4_t b, int32x4_t scale)
{
    a = vmlasq_n_s32(a, scale, p->in1_offset * (1 << p->left_shift));
    b = vmlasq_n_s32(b, scale, p->in2_offset * (1 << p->left_shift));
    const int32x4_t sum = vaddq_s32(tf_mve_rdbpot(vqrdmulhq_n_s32(a, p->in1_mult), -p->in1_shift, 0),
                                    tf_mve_rdbpot(vqrdmulhq_n_s32(b, p->in2_mult), -p->in2_shift, 0));
    int32x4_t r = tf_mve_rdbpot(vqrdmulhq_n_s32(sum, p->out_mult), -p->out_shift, p->act_min >= p->output_offset);
    r = vaddq_n_s32(r, p->output_offset);
    r = vmaxq_s32(r, vdupq_n_s32(p->act_min));
    return vminq_s32(r, vdupq_n_s32(p->act_max));
}

TF_MVE_INLINE void tf_mve_add_s8(const tf_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    const int32x4_t scale = vdupq_n_s32(1 << p->left_shift);
    int32_t i = 0;
    for (; i + 4 <= p->size; i += 4) {
        vstrbq_s32(out + i, tf_mve_add4(p, vldrbq_s32(in1 + i), vldrbq_s32(in2 + i), scale));
    }
    if (i < p->size) {
        const mve_pred16_t m = vctp32q((uint32_t)(p->size - i));
        vstrbq_p_s32(out + i, tf_mve_add4(p, vldrbq_z_s32(in1 + i, m), vldrbq_z_s32(in2 + i, m), scale), m);
    }
}

/* ---- AVERAGE_POOL_2D -----------------------------------------------------------------------------
 * TFLite's reference: the taps inside the input summed per channel, divided by their count rounding
 * halves away from zero. The sums are vectors of 8 channels in 16-bit lanes when the window cannot
 * overflow them (wide: 4 channels in 32-bit lanes otherwise); the division stays scalar (there is no
 * vector divide), once per output value. sums: in_c int32 of scratch. */
typedef struct {
    tf_geom_t g;
    int32_t act_min, act_max;
    int32_t wide;          /* k_h * k_w * 128 does not fit in int16 */
} tf_mve_pool_t;

TF_MVE_INLINE void tf_mve_avg_pool_s8(const tf_mve_pool_t *p, const int8_t *input, int32_t *sums, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ch = g->in_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ch;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            const int32_t y0 = iy0 < 0 ? -iy0 : 0, y1 = g->k_h < g->in_h - iy0 ? g->k_h : g->in_h - iy0;
            for (int32_t ox = 0; ox < g->out_w; ++ox, output += ch) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                const int32_t x0 = ix0 < 0 ? -ix0 : 0, x1 = g->k_w < g->in_w - ix0 ? g->k_w : g->in_w - ix0;
                const int32_t count = (y1 - y0) * (x1 - x0);
                for (int32_t c = 0; c < ch; c += p->wide ? 4 : 8) {
                    const int8_t *src = in_b + ((iy0 + y0) * g->in_w + ix0 + x0) * ch + c;
                    if (p->wide) {
                        const mve_pred16_t m = vctp32q((uint32_t)(ch - c));
                        int32x4_t acc = vdupq_n_s32(0);
                        for (int32_t y = y0; y < y1; ++y, src += g->in_w * ch) {
                            for (int32_t x = 0; x < x1 - x0; ++x) {
                                acc = vaddq_s32(acc, vldrbq_z_s32(src + x * ch, m));
                            }
                        }
                        vstrwq_s32(sums + c, acc);
                    } else {
                        const mve_pred16_t m = vctp16q((uint32_t)(ch - c));
                        int16x8_t acc = vdupq_n_s16(0);
                        for (int32_t y = y0; y < y1; ++y, src += g->in_w * ch) {
                            for (int32_t x = 0; x < x1 - x0; ++x) {
                                acc = vaddq_s16(acc, vldrbq_z_s16(src + x * ch, m));
                            }
                        }
                        vstrwq_s32(sums + c, vmovlbq_s16(acc));
                        vstrwq_s32(sums + c + 4, vmovltq_s16(acc));
                    }
                }
                for (int32_t c = 0; c < ch; ++c) {
                    /* 16-bit sums were stored even lanes first: channel c is at (c & ~7) + ((c & 1) ? 4 : 0) + ((c & 7) >> 1) */
                    const int32_t acc = p->wide ? sums[c] : sums[(c & ~7) + ((c & 1) << 2) + ((c & 7) >> 1)];
                    /* max then min, not tf_clamp_s8's nested form: GCC compiles this one shorter here */
                    int32_t v = tf_pool_average(acc, count);
                    v = v < p->act_min ? p->act_min : v;
                    output[c] = (int8_t)(v > p->act_max ? p->act_max : v);
                }
            }
        }
    }
}

#endif
