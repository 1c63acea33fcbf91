/* DEPTHWISE_CONV_2D kernels for cores with the DSP extension (the conventions of tf_fast.h). */
#ifndef TF_FAST_DEPTHWISE_H
#define TF_FAST_DEPTHWISE_H

#include "tf_fast.h"

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

/* ---- DEPTHWISE_CONV_2D by rows of int16 pairs (tf_fast_dw_rows_s8) ----------------------------------
 * For multiplier 1 and channels a multiple of 4, or any multiplier m > 1; no dilation, stride 1 or 2
 * along the rows, an odd filter width >= 3. The kernel works in a "view" of the tensors (tf_dwr_t):
 * u the axis along which taps are paired, v the other; the generator takes u = x, or u = y (the view
 * transposed) when that gives longer rows (kws: 25 x 5).
 *
 * Per block of four channels, each input row (v) is converted once into a small ring of rows in
 * scratch, channel-planar, two horizontally adjacent values of one channel sign-extended into one
 * word: pair j holds columns 2j and 2j+1 of the padded row (pad_value outside the input). A ring
 * row is the block's four channel rows of np words one after the other, so the four stores of a
 * converted pair are within STRD's reach of one pointer (planes 600 bytes apart cost vww an ADD per
 * store) and moving rows is one block copy. A filter row (w0, w1, w2) then takes two instructions
 * per output pixel with the words E = (w0, w1) and O = (w1, w2), both pre-packed by the generator:
 *     pixel at an even column b: SMLAD(pair b/2, E) + SMLABT(pair b/2 + 1, O)
 *     pixel at an odd column b:  SMLATB(pair (b-1)/2, E) + SMLAD(pair (b+1)/2, O)
 * (wider odd filters add one SMLAD per further pair of taps). Four output pixels share each pair
 * loaded, and one channel's weights and requantisation record serve a whole output row, so a 3x3
 * layer costs about 1.4 instructions per MAC against 3.2 for the kernel above.
 *
 * In place: each input row of the block is in the ring before any output row overwrites it (the
 * output row ov of the block is written after the rows it reads are converted, and the generator
 * checks that every byte it writes belongs to an input row already converted), so the output may
 * take the input's buffer (EmitContext.overwrites_input).
 *
 * Depth multiplier m > 1: output channel oc reads input channel oc / m, so the ring holds input
 * channel planes and the m output channels of each run over the same plane with their own weights
 * and records (person_detect's first layer: one input plane, eight output channels). Input depths
 * not a multiple of 4 convert one channel per block (planes = 1); a single-channel input's four
 * neighbouring bytes then make two pairs (LDR, two SXTB16, two PKH). Never in place: the output is
 * larger than the input. */
typedef struct {
    int32_t in_u, in_v, out_u, out_v;   /* extents of the view */
    int32_t k_u, k_v, s_u, s_v, pad_u, pad_v;
    int32_t in_su, in_sv, out_su, out_sv; /* bytes between neighbours along u and along v */
    int32_t c;                          /* input channels */
    int32_t m;                          /* depth multiplier: output channel oc reads input channel oc / m */
    int32_t planes;                     /* input channels per block and ring row: 4, or 1 */
    int32_t np, rows;                   /* pairs per channel and ring row, ring rows */
    int32_t batches, in_batch, out_batch;
    int32_t pad_value, act_min, act_max, rq_mode;
    int32_t preshift;                   /* weights and bias come multiplied by 2^left: no shift */
    int32_t fused;                      /* each channel's weights end with its bias and record (tf_dwr_px) */
    int32_t sat, lift;                  /* sat > 0: the records' round comes lowered by lift 2^rq_mode (tf_dwr_out) */
} tf_dwr_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
TF_ALWAYS_INLINE int32_t tf_smlabt_(uint32_t a, uint32_t b, int32_t acc) { return __smlabt((int32_t)a, (int32_t)b, acc); }
TF_ALWAYS_INLINE int32_t tf_smlatb_(uint32_t a, uint32_t b, int32_t acc) { return __smlatb((int32_t)a, (int32_t)b, acc); }
#else
TF_ALWAYS_INLINE int32_t tf_smlabt_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_lo16(a) * tf_hi16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smlatb_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_hi16(a) * tf_lo16(b)));
}
#endif

/* Pixel words p, q (channels 0..3 of two neighbours) to the four channels' pairs, in planes 'plane'
 * words apart: [p0 p1 q0 q1] and [p2 p3 q2 q3] (PKHBT / PKHTB), each unpacked by SXTB16. */
TF_ALWAYS_INLINE void tf_dwr_pairs(uint32_t p, uint32_t q, uint32_t *d, int32_t plane)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t lo, hi;   /* GCC builds these from masks and shifts, three instructions each */
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(lo) : "r"(p), "r"(q));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(hi) : "r"(q), "r"(p));
#else
    const uint32_t lo = (p & 0xffffu) | (q << 16), hi = (q & 0xffff0000u) | (p >> 16);
#endif
    d[0] = tf_sxtb16_lo(lo);
    d[plane] = tf_sxtb16_hi(lo);
    d[2 * plane] = tf_sxtb16_lo(hi);
    d[3 * plane] = tf_sxtb16_hi(hi);
}

typedef uint64_t tf_dwr_u64_t __attribute__((aligned(4), may_alias));

/* Two words to d[0], d[1] with one STRD (any word alignment on the M profile). */
TF_ALWAYS_INLINE void tf_dwr_store2(uint32_t *d, uint32_t a, uint32_t b)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__("strd %1, %2, %0" : "=Uv"(*(tf_dwr_u64_t *)d) : "r"(a), "r"(b));
#else
    d[0] = a, d[1] = b;
#endif
}

/* tf_dwr_pairs for two neighbouring pairs (pixel words p, q then r, t): each plane's two words
 * are consecutive. */
TF_ALWAYS_INLINE void tf_dwr_pairs2(uint32_t p, uint32_t q, uint32_t r, uint32_t t, uint32_t *d, int32_t plane)
{
    uint32_t lo0, hi0, lo1, hi1;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(lo0) : "r"(p), "r"(q));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(hi0) : "r"(q), "r"(p));
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(lo1) : "r"(r), "r"(t));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(hi1) : "r"(t), "r"(r));
#else
    lo0 = (p & 0xffffu) | (q << 16), hi0 = (q & 0xffff0000u) | (p >> 16);
    lo1 = (r & 0xffffu) | (t << 16), hi1 = (t & 0xffff0000u) | (r >> 16);
#endif
    tf_dwr_store2(d, tf_sxtb16_lo(lo0), tf_sxtb16_lo(lo1));
    tf_dwr_store2(d + plane, tf_sxtb16_hi(lo0), tf_sxtb16_hi(lo1));
    tf_dwr_store2(d + 2 * plane, tf_sxtb16_lo(hi0), tf_sxtb16_lo(hi1));
    tf_dwr_store2(d + 3 * plane, tf_sxtb16_hi(hi0), tf_sxtb16_hi(hi1));
}

/* tf_dwr_pairs for pixel words p, q followed by an all-pad pair (its word pp in every plane). */
TF_ALWAYS_INLINE void tf_dwr_pairs2_pad(uint32_t p, uint32_t q, uint32_t pp, uint32_t *d, int32_t plane)
{
    uint32_t lo, hi;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(lo) : "r"(p), "r"(q));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(hi) : "r"(q), "r"(p));
#else
    lo = (p & 0xffffu) | (q << 16), hi = (q & 0xffff0000u) | (p >> 16);
#endif
    tf_dwr_store2(d, tf_sxtb16_lo(lo), pp);
    tf_dwr_store2(d + plane, tf_sxtb16_hi(lo), pp);
    tf_dwr_store2(d + 2 * plane, tf_sxtb16_lo(hi), pp);
    tf_dwr_store2(d + 3 * plane, tf_sxtb16_hi(hi), pp);
}

/* Two int8 values (sign-extended) to one pair word: lo in the low half. */
TF_ALWAYS_INLINE uint32_t tf_dwr_pack(int32_t lo, int32_t hi)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
#else
    return ((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16);
#endif
}

/* A single-channel row's four neighbouring bytes v = (x0, x1, x2, x3) to the pairs (x0, x1) and
 * (x2, x3) at d[0], d[1]: SXTB16 gives (x0, x2) and (x1, x3), PKHBT / PKHTB regroup them. */
TF_ALWAYS_INLINE void tf_dwr_pairs1(uint32_t v, uint32_t *d)
{
    const uint32_t even = tf_sxtb16_lo(v), odd = tf_sxtb16_hi(v);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t lo, hi;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(lo) : "r"(even), "r"(odd));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(hi) : "r"(odd), "r"(even));
#else
    const uint32_t lo = (even & 0xffffu) | (odd << 16), hi = (odd & 0xffff0000u) | (even >> 16);
#endif
    tf_dwr_store2(d, lo, hi);
}

/* n consecutive words into v, two at a time: LDRD, which GCC does not emit for 4-aligned words
 * (constraint Uv: an address with LDRD's offset range, a multiple of 4 within +-1020). */
TF_ALWAYS_INLINE void tf_dwr_load(const uint32_t *r, uint32_t *v, int32_t n)
{
    int32_t i = 0;
    for (; i + 2 <= n; i += 2) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        __asm__("ldrd %0, %1, %2" : "=r"(v[i]), "=r"(v[i + 1]) : "Uv"(*(const tf_dwr_u64_t *)(r + i)));
#else
        v[i] = r[i], v[i + 1] = r[i + 1];
#endif
    }
    if (i < n) {
        v[i] = r[i];
    }
}

/* Pair j of a row near its ends: the columns outside the input read pad_value. */
TF_ALWAYS_INLINE void tf_dwr_edge(const tf_dwr_t *p, const int8_t *src, int32_t j, uint32_t pad, uint32_t *d,
                                  int32_t plane)
{
    const int32_t u0 = 2 * j - p->pad_u, u1 = u0 + 1;
    if ((u0 < 0 || u0 >= p->in_u) && (u1 < 0 || u1 >= p->in_u)) {
        /* all pad: one word for the four channels, no PKH/SXTB16 of constants GCC keeps spilled */
        const uint32_t pp = tf_sxtb16_lo(pad);
        d[0] = d[plane] = d[2 * plane] = d[3 * plane] = pp;
        return;
    }
    const uint32_t a = u0 >= 0 && u0 < p->in_u ? tf_ld32(src + u0 * p->in_su) : pad;
    const uint32_t b = u1 >= 0 && u1 < p->in_u ? tf_ld32(src + u1 * p->in_su) : pad;
    tf_dwr_pairs(a, b, d, plane);
}

/* A ring row of padding (a row above or below the input). */
TF_ALWAYS_INLINE void tf_dwr_row_pad(const tf_dwr_t *p, uint32_t *d)
{
    const int32_t plane = p->np;
    const uint32_t pp = tf_sxtb16_lo((uint8_t)p->pad_value * 0x01010101u);
    if (p->planes == 1) {
        for (int32_t j = 0; j < p->np; ++j) {
            d[j] = pp;
        }
        return;
    }
    for (int32_t j = 0; j < p->np; ++j) {
        d[j] = d[plane + j] = d[2 * plane + j] = d[3 * plane + j] = pp;
    }
}

/* tf_dwr_row_in for one channel plane (planes = 1): pair j holds the channel's input columns
 * 2j - pad_u and the next (pad_value outside the input). */
TF_ALWAYS_INLINE void tf_dwr_row_in1(const tf_dwr_t *p, const int8_t *src, uint32_t *d)
{
    const int32_t pad = (int8_t)p->pad_value;
    __asm__("" : "+r"(d));   /* as tf_dwr_row_in: stores at small offsets from one pointer */
    const int32_t jl = (p->pad_u + 1) / 2 < p->np ? (p->pad_u + 1) / 2 : p->np;
    const int32_t jm = (p->in_u + p->pad_u) / 2 < p->np ? (p->in_u + p->pad_u) / 2 : p->np;
    int32_t j = 0;
    for (; j < jl; ++j) {
        const int32_t u0 = 2 * j - p->pad_u, u1 = u0 + 1;
        d[j] = tf_dwr_pack(u0 >= 0 && u0 < p->in_u ? src[u0 * p->in_su] : pad,
                           u1 >= 0 && u1 < p->in_u ? src[u1 * p->in_su] : pad);
    }
    const int8_t *s = src + (2 * j - p->pad_u) * p->in_su;
    if (p->in_su == 1) {   /* one channel: four columns per word, two pairs */
        for (; j + 2 <= jm; j += 2, s += 4) {
            tf_dwr_pairs1(tf_ld32(s), d + j);
        }
    }
    for (; j < jm; ++j, s += 2 * p->in_su) {
        d[j] = tf_dwr_pack(s[0], s[p->in_su]);
    }
    for (; j < p->np; ++j) {
        const int32_t u0 = 2 * j - p->pad_u, u1 = u0 + 1;
        d[j] = tf_dwr_pack(u0 >= 0 && u0 < p->in_u ? src[u0 * p->in_su] : pad,
                           u1 >= 0 && u1 < p->in_u ? src[u1 * p->in_su] : pad);
    }
}

/* Input row iv of the block, 0 <= iv < in_v (src: its channel block at u = 0), into ring row d
 * (channel 0's words). */
TF_ALWAYS_INLINE void tf_dwr_row_in(const tf_dwr_t *p, const int8_t *src, int32_t iv, uint32_t *d)
{
    const int32_t plane = p->np;
    const uint32_t pad = (uint8_t)p->pad_value * 0x01010101u;
    src += iv * p->in_sv;
    if (p->planes == 1) {
        tf_dwr_row_in1(p, src, d);
        return;
    }
    /* opaque to GCC: the stores at small offsets from one pointer, not at ring + constant (the ring
     * sits at a constant place in the arena) each from its own MOVW and ADD */
    __asm__("" : "+r"(d));
    /* pair j: input columns 2j - pad_u and the next; [jl, jm) has both inside the input */
    const int32_t jl = (p->pad_u + 1) / 2 < p->np ? (p->pad_u + 1) / 2 : p->np;
    const int32_t jm = (p->in_u + p->pad_u) / 2 < p->np ? (p->in_u + p->pad_u) / 2 : p->np;
    int32_t j = 0;
    for (; j < jl; ++j) {
        tf_dwr_edge(p, src, j, pad, d + j, plane);
    }
    const int8_t *s = src + (2 * j - p->pad_u) * p->in_su;
    /* two pairs at a time: each channel's two words stored by one STRD (12 instructions a pair
     * instead of 16 on the M7: vww's stride-2 layers convert 2.25 MACs' worth of input per value) */
    for (; j + 2 <= jm; j += 2, s += 4 * p->in_su) {
        tf_dwr_pairs2(tf_ld32(s), tf_ld32(s + p->in_su), tf_ld32(s + 2 * p->in_su), tf_ld32(s + 3 * p->in_su),
                      d + j, plane);
    }
    if (j + 1 == jm && jm < p->np && 2 * jm - p->pad_u >= p->in_u) {
        /* the last pair inside and the next all pad (vww's 6-wide rows, 4 pairs): one STRD per plane */
        tf_dwr_pairs2_pad(tf_ld32(s), tf_ld32(s + p->in_su), tf_sxtb16_lo(pad), d + j, plane);
        j += 2;
    }
    for (; j < jm; ++j, s += 2 * p->in_su) {
        tf_dwr_pairs(tf_ld32(s), tf_ld32(s + p->in_su), d + j, plane);
    }
    for (; j < p->np; ++j) {
        tf_dwr_edge(p, src, j, pad, d + j, plane);
    }
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Stride 2 along u, 3 taps, n = 3 or 4 pixels: filter row r of pixel g is SMLAD(pair g, E) +
 * SMLABT(pair g + 1, O), in one asm block so that only two pairs, the two weights and the
 * accumulators are live: GCC's version kept five pairs and spilled the rest (66 -> 52 instructions
 * per 36 MACs on the M7). Row 0 starts the accumulators at bias (b0.. name its register). A row's
 * pairs g..g + n come two by two with LDRD, so three pixels (vww's 3 x 3 maps) take 9 instructions
 * a row where a pair and a single took 11. */
#define TF_DWR_S2_W(r) "ldrd %[e], %[o], [%[w], #8 * " #r "]\n\t"
#define TF_DWR_S2_LD2(r, k) "ldrd %[p], %[q], [%[x], #%c[r" #r "] + " #k "]\n\t"
#define TF_DWR_S2_LD1(r, k) "ldr %[p], [%[x], #%c[r" #r "] + " #k "]\n\t"
#define TF_DWR_S2_PX(a, lo, hi, b) "smlad %[" a "], %[" lo "], %[e], " b "\n\t"                      \
                                   "smlabt %[" a "], %[" hi "], %[o], %[" a "]\n\t"
#define TF_DWR_S2_ASM3(r, b0, b1, b2)                                                                 \
    TF_DWR_S2_W(r) TF_DWR_S2_LD2(r, 0) "smlad %[a0], %[p], %[e], " b0 "\n\t"                          \
    "smlabt %[a0], %[q], %[o], %[a0]\n\t"                                                             \
    "smlad %[a1], %[q], %[e], " b1 "\n\t" TF_DWR_S2_LD2(r, 8) "smlabt %[a1], %[p], %[o], %[a1]\n\t"    \
    TF_DWR_S2_PX("a2", "p", "q", b2)
#define TF_DWR_S2_ASM4(r, b0, b1, b2, b3)                                                             \
    TF_DWR_S2_W(r) TF_DWR_S2_LD2(r, 0) "smlad %[a0], %[p], %[e], " b0 "\n\t"                          \
    "smlabt %[a0], %[q], %[o], %[a0]\n\t"                                                             \
    "smlad %[a1], %[q], %[e], " b1 "\n\t" TF_DWR_S2_LD2(r, 8) "smlabt %[a1], %[p], %[o], %[a1]\n\t"    \
    "smlad %[a2], %[p], %[e], " b2 "\n\t"                                                             \
    "smlabt %[a2], %[q], %[o], %[a2]\n\t"                                                             \
    "smlad %[a3], %[q], %[e], " b3 "\n\t" TF_DWR_S2_LD1(r, 16) "smlabt %[a3], %[p], %[o], %[a3]\n\t"
#define TF_DWR_S2_OPERANDS                                                                            \
    : [a0] "=&r"(a[0]), [a1] "=&r"(a[1]), [a2] "=&r"(a[2]), [a3] "+r"(a[3]), [e] "=&r"(e), [o] "=&r"(o), \
      [p] "=&r"(pp), [q] "=&r"(qq)                                                                    \
    : [x] "r"(x), [w] "r"(w), [r0] "i"(0), [r1] "i"(4 * p->planes * p->np), [r2] "i"(8 * p->planes * p->np), \
      "m"(*(const uint32_t(*)[1024])x), "m"(*(const uint32_t(*)[6])w)

/* The accumulators a[0..n) of pixels 0..n-1, n = 3 or 4 (a[3] comes in as the bias). */
TF_ALWAYS_INLINE void tf_dwr_acc_s2(const tf_dwr_t *p, const uint32_t *x, const uint32_t *w, int32_t *a, int32_t n)
{
    uint32_t e, o, pp, qq;
    /* the three filter rows in one block, the ring's rows and the weights at immediate offsets
     * from x and w (#r0.. are constants: the layer's parameter block is) */
    if (n == 4) {
        __asm__(TF_DWR_S2_ASM4(0, "%[a3]", "%[a3]", "%[a3]", "%[a3]") TF_DWR_S2_ASM4(1, "%[a0]", "%[a1]", "%[a2]", "%[a3]")
                    TF_DWR_S2_ASM4(2, "%[a0]", "%[a1]", "%[a2]", "%[a3]") TF_DWR_S2_OPERANDS);
    } else {
        __asm__(TF_DWR_S2_ASM3(0, "%[a3]", "%[a3]", "%[a3]") TF_DWR_S2_ASM3(1, "%[a0]", "%[a1]", "%[a2]")
                    TF_DWR_S2_ASM3(2, "%[a0]", "%[a1]", "%[a2]") TF_DWR_S2_OPERANDS);
    }
}
#undef TF_DWR_S2_W
#undef TF_DWR_S2_LD2
#undef TF_DWR_S2_LD1
#undef TF_DWR_S2_PX
#undef TF_DWR_S2_ASM3
#undef TF_DWR_S2_ASM4
#undef TF_DWR_S2_OPERANDS
#endif

/* Whether tf_dwr_acc_s2 runs the layer's pixels: stride 2 along u, a 3 x 3 filter, the ring rows
 * within LDRD's reach. */
TF_ALWAYS_INLINE int32_t tf_dwr_s2_asm(const tf_dwr_t *p)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    return p->s_u == 2 && p->k_u == 3 && p->k_v == 3 && 8 * p->planes * p->np + 16 <= 1020;
#else
    (void)p;
    return 0;
#endif
}

/* Outputs of pixels 0..n-1 with both ends of the activation range clamped in few instructions
 * (p->sat > 0, rq_mode >= 2): the generator lowered each record's round by lift 2^rq_mode, so
 * SMMLA and SSAT to sat bits give x = r - lift clamped below at act_min - lift = -2^(sat-1) (and
 * above at 2^(sat-1) - 1 >= act_max - lift = top, sat being the fewest bits that hold the range).
 * Two pixels' x then share one halfword pair: QADD16 with 32767 - top saturates at min(x, top) and
 * SADD16 takes the excess off and puts lift back. 5 instructions an output instead of 9 for SSAT
 * and two compare-and-move clamps (person_detect's RELU6 layers). */
TF_ALWAYS_INLINE int32_t tf_dwr_lifted(const tf_dwr_t *p, int32_t acc, const tf_rq_t *q)
{
    int32_t r = tf_smmla((int32_t)((uint32_t)acc << q->left), q->mult, q->round);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__("ssat %0, %1, %2, asr %3" : "=r"(r) : "i"(p->sat), "r"(r), "i"(p->rq_mode));
#else
    const int32_t half = 1 << (p->sat - 1);
    r >>= p->rq_mode;
    r = r < -half ? -half : r >= half ? half - 1 : r;
#endif
    return r;
}

TF_ALWAYS_INLINE void tf_dwr_out(const tf_dwr_t *p, const int32_t *acc, const tf_rq_t *q, int8_t *out, int32_t n)
{
    const int32_t top = p->act_max - p->lift, k = 32767 - top, back = p->lift - k;
    const uint32_t kk = (uint32_t)k * 0x00010001u, bb = ((uint32_t)back & 0xffffu) * 0x00010001u;
    int32_t g = 0;
    for (; g + 2 <= n; g += 2) {
        const int32_t x0 = tf_dwr_lifted(p, acc[g], q), x1 = tf_dwr_lifted(p, acc[g + 1], q);
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
        uint32_t v;
        __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(v) : "r"(x0), "r"(x1));
        v = (uint32_t)__sadd16((int16x2_t)__qadd16((int16x2_t)v, (int16x2_t)kk), (int16x2_t)bb);
        out[g * p->out_su] = (int8_t)v;
        out[(g + 1) * p->out_su] = (int8_t)(v >> 16);
#else
        /* QADD16 then SADD16 lane by lane (ARM ARM A7.7), as the device computes them */
        int8_t r[2];
        for (int32_t i = 0; i < 2; ++i) {
            int32_t lane = (i ? x1 : x0) + (int16_t)(kk & 0xffffu);
            lane = lane > 32767 ? 32767 : lane < -32768 ? -32768 : lane;
            r[i] = (int8_t)(uint16_t)(lane + (int16_t)(bb & 0xffffu));
        }
        out[g * p->out_su] = r[0];
        out[(g + 1) * p->out_su] = r[1];
#endif
    }
    if (g < n) {
        const int32_t x = tf_dwr_lifted(p, acc[g], q);
        out[g * p->out_su] = (int8_t)((x < top ? x : top) + p->lift);
    }
}

/* Output pixels ou .. ou + n - 1 (n = 1..4) of one channel in one output row: x is the ring's
 * first row for this output row at the channel's words of the first pixel's pair (the next rows
 * planes np words on), w the channel's weights [k_v][k_u - 1] (E_0.. then O_0.. per row). */
TF_ALWAYS_INLINE void tf_dwr_px(const tf_dwr_t *p, const uint32_t *x, const uint32_t *w, int32_t bias,
                                const tf_rq_t *rq, int8_t *out, int32_t n)
{
    const int32_t h = (p->k_u - 1) / 2, used = (n - 1) * p->s_u / 2 + h + 1;   /* pairs a row's taps read */
    /* fused: the channel's record after its k_v (k_u - 1) weights, bias, mult, round, right (left is 0:
     * preshift), each loaded where used (the record after the MACs, when their registers are free);
     * opaque w: GCC does not hoist the loads out of the rows and spill them */
    const int32_t kw = p->k_v * (p->k_u - 1);
    if (p->fused) {
        __asm__("" : "+r"(w));
        bias = (int32_t)w[kw];
    }
    int32_t acc[4] = {bias, bias, bias, bias};
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (tf_dwr_s2_asm(p) && n >= 3) {   /* GCC's pairs and singles do as well on 1 and 2 (vww) */
        tf_dwr_acc_s2(p, x, w, acc, n);
    } else
#endif
    {
        /* opaque to GCC: each filter row's words an immediate offset from one register, not a
         * pointer per row hoisted out of the pixel loop and spilled */
        __asm__("" : "+r"(w));
        for (int32_t kv = 0; kv < p->k_v; ++kv) {
            uint32_t r[8], e[8], *o = e + h;
            tf_dwr_load(x + kv * p->planes * p->np, r, used);
            tf_dwr_load(w + kv * (p->k_u - 1), e, p->k_u - 1);
            for (int32_t g = 0; g < n; ++g) {
                const int32_t b = g * p->s_u;
                if (b % 2 == 0) {
                    for (int32_t i = 0; i < h; ++i) {
                        acc[g] = tf_smlad_(r[b / 2 + i], e[i], acc[g]);
                    }
                    acc[g] = tf_smlabt_(r[b / 2 + h], o[h - 1], acc[g]);
                } else {
                    acc[g] = tf_smlatb_(r[b / 2], e[0], acc[g]);
                    for (int32_t i = 0; i < h; ++i) {
                        acc[g] = tf_smlad_(r[b / 2 + 1 + i], o[i], acc[g]);
                    }
                }
            }
        }
    }
    tf_rq_t q;
    if (p->fused) {
        __asm__("" : "+r"(w), "+r"(acc[0]));
        q.mult = (int32_t)w[kw + 1], q.round = (int32_t)w[kw + 2], q.right = (int32_t)w[kw + 3], q.left = 0;
    } else {
        q = *rq;
        if (p->preshift) {
            q.left = 0;
        }
    }
    if (p->sat) {
        tf_dwr_out(p, acc, &q, out, n);
        return;
    }
    for (int32_t g = 0; g < n; ++g) {
        out[g * p->out_su] = tf_rq(acc[g], &q, p->act_min, p->act_max, p->rq_mode);
    }
}

/* Which input rows the ring holds: [lo, hi) in consecutive slots from 'slot'. */
typedef struct {
    int32_t lo, hi, slot;
} tf_dwr_window_t;

/* Makes the ring hold input rows iv0 .. iv0 + span - 1 (those of output rows ov .. ov + n - 1,
 * span = (n - 1) s_v + k_v) in consecutive slots, converting only the rows not yet there; when the
 * window would run past the last slot, the rows still needed move back to slot 0. Returns the
 * first slot's ring row. */
TF_ALWAYS_INLINE const uint32_t *tf_dwr_window(const tf_dwr_t *p, const int8_t *src, int32_t ov, int32_t span,
                                               uint32_t *ring, tf_dwr_window_t *w)
{
    const int32_t iv0 = ov * p->s_v - p->pad_v, row = p->planes * p->np;
    if (ov == 0 || w->hi <= iv0) {
        w->lo = w->hi = iv0, w->slot = 0;
    } else {
        w->slot += iv0 - w->lo, w->lo = iv0;
    }
    if (w->slot + span > p->rows) {
        /* a forward copy, two words at a time (LDRD/STRD): the rows move to lower addresses, so
         * it is right even when they overlap (tall filters); no call to memmove for a few words */
        const int32_t n = (w->hi - w->lo) * row;
        const uint32_t *s = ring + w->slot * row;
        int32_t i = 0;
        for (; i + 2 <= n; i += 2) {
            uint32_t v[2];
            tf_dwr_load(s + i, v, 2);
            tf_dwr_store2(ring + i, v[0], v[1]);
        }
        if (i < n) {
            ring[i] = s[i];
        }
        w->slot = 0;
    }
    /* the rows above the input, inside it, below it: no range test per row */
    const int32_t end = iv0 + span, inside = end < p->in_v ? end : p->in_v;
    uint32_t *d = ring + (w->slot + w->hi - w->lo) * row;
    for (; w->hi < end && w->hi < 0; ++w->hi, d += row) {
        tf_dwr_row_pad(p, d);
    }
    for (; w->hi < inside; ++w->hi, d += row) {
        tf_dwr_row_in(p, src, w->hi, d);
    }
    for (; w->hi < end; ++w->hi, d += row) {
        tf_dwr_row_pad(p, d);
    }
    return ring + w->slot * row;
}

/* One output row of one channel: x the ring row of its first tap row, at pair 0. */
TF_ALWAYS_INLINE void tf_dwr_row(const tf_dwr_t *p, const uint32_t *x, const uint32_t *w, int32_t bias,
                                 const tf_rq_t *q, int8_t *out)
{
    int32_t ou = 0;
    for (; ou + 4 <= p->out_u; ou += 4, x += 2 * p->s_u, out += 4 * p->out_su) {
        tf_dwr_px(p, x, w, bias, q, out, 4);
    }
    if (p->out_u - ou == 3 && tf_dwr_s2_asm(p)) {   /* two pairs per LDRD: no group of 1 */
        tf_dwr_px(p, x, w, bias, q, out, 3);
        return;
    }
    if (p->out_u - ou >= 2) {
        tf_dwr_px(p, x, w, bias, q, out, 2);
        ou += 2, x += p->s_u, out += 2 * p->out_su;
    }
    if (ou < p->out_u) {
        tf_dwr_px(p, x, w, bias, q, out, 1);
    }
}

/* weights: [c m][k_v][k_u - 1] words (tf_dwr_px), each output channel's followed by (bias, mult,
 * round, right) when p->fused (bias and rq then unused), else bias and rq per output channel; ring:
 * scratch of rows * planes * np words. The output rows go in bands, as many as the ring's rows serve at once
 * (all of them for a small map): one channel's weights and record then serve the whole band. */
TF_ALWAYS_INLINE void tf_fast_dw_rows_s8(const tf_dwr_t *p, const int8_t *input, const uint32_t *weights,
                                         const int32_t *bias, const tf_rq_t *rq, uint32_t *ring, int8_t *output)
{
    const int32_t kw = p->k_v * (p->k_u - 1) + (p->fused ? 4 : 0);   /* words per channel */
    const int32_t band = (p->rows - p->k_v) / p->s_v + 1;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t cb = 0; cb < p->c; cb += p->planes) {
            const int8_t *src = input + b * p->in_batch + cb;
            tf_dwr_window_t window = {0, 0, 0};
            for (int32_t ov = 0; ov < p->out_v; ov += band) {
                const int32_t n = p->out_v - ov < band ? p->out_v - ov : band;
                const uint32_t *rows = tf_dwr_window(p, src, ov, (n - 1) * p->s_v + p->k_v, ring, &window);
                for (int32_t c = 0; c < p->planes * p->m; ++c) {
                    const int32_t oc = cb * p->m + c;   /* reads plane c / m */
                    const uint32_t *w = weights + oc * kw;
                    /* opaque to GCC: the weights are loaded where used, not all hoisted and spilled */
                    __asm__("" : "+r"(w));
                    const int32_t bi = p->fused ? 0 : bias[oc];
                    const tf_rq_t *q = p->fused ? rq : rq + oc;
                    int8_t *out = output + b * p->out_batch + ov * p->out_sv + oc;
                    const uint32_t *x = rows + c / p->m * p->np;
                    for (int32_t r = 0; r < n; ++r, x += p->planes * p->s_v * p->np, out += p->out_sv) {
                        tf_dwr_row(p, x, w, bi, q, out);
                    }
                }
            }
        }
    }
}

#endif
