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

#endif
