/* Helium (MVE) DEPTHWISE_CONV_2D (see tf_mve_requant.h for what the Helium kernels share). */
#ifndef TF_MVE_DEPTHWISE_H
#define TF_MVE_DEPTHWISE_H

#include "tf_mve_requant.h"

/* ---- DEPTHWISE_CONV_2D ---------------------------------------------------------------------------
 * Eight channels per pass in 16-bit lanes: MVE has no vector-by-vector integer multiply-accumulate,
 * but VMULLB/VMULLT.S16 multiply the even/odd 16-bit lanes into 32-bit products, so each tap costs
 * two widening loads, two multiplies and two adds for 8 MACs. The accumulators hold the even
 * channels (c, c+2, c+4, c+6) and the odd ones; their requantisation records follow that order.
 *
 * Weights: [group of 8 channels][tap][8] (zero channels pad the last group). The input rows a
 * output row needs are copied into a strip laid out [group][k_h][strip_w][8]: the group's taps are
 * then a few bytes apart (immediate offsets), the left/right padding columns hold pad_value, and no
 * tap is tested against the borders.
 *
 * The strip holds the output's channels: with a depth multiplier m > 1, strip channel j is input
 * channel j / m, gathered (VLDRB.S16 with a vector of offsets) as the rows are copied, and the rest
 * is the multiplier-1 kernel over out_c channels. */

/* The gather offsets of strip group 'group' for a depth multiplier m = out_c / in_c > 1: lane l reads
 * input channel min(8 group + l, out_c - 1) / m (lanes past out_c meet zero weights), the division
 * a high multiply by ceil(2^16 / m), exact for these small channel numbers. */
TF_MVE_INLINE uint16x8_t tf_mve_dw_sources(const tf_mve_conv_t *p, int32_t group)
{
    const int32_t m = p->g.out_c / p->g.in_c;
    const uint16x8_t j = vminq_u16(vidupq_n_u16((uint32_t)(group * 8), 1), vdupq_n_u16((uint16_t)(p->g.out_c - 1)));
    return vmulhq_u16(j, vdupq_n_u16((uint16_t)((65536 + m - 1) / m)));
}

/* Copies input row iy (or, outside the input, pad_value) into strip row 'slot' of every group,
 * between the padding columns (filled once by the caller, never overwritten). */
TF_MVE_INLINE void tf_mve_dw_row_in(const tf_mve_conv_t *p, const int8_t *in_b, int32_t iy, int8_t *strip,
                                    int32_t slot)
{
    const tf_geom_t *g = &p->g;
    const int32_t c_n = g->in_c, groups = (g->out_c + 7) / 8, plane = p->strip_rows * p->strip_w * 8;
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
    if (g->out_c != c_n) {   /* depth multiplier: each group's lanes gathered from its input channels */
        for (int32_t c = 0; c < groups; ++c) {
            const uint16x8_t sources = tf_mve_dw_sources(p, c);
            const int8_t *s = src;
            int8_t *d = row + c * plane;
            for (int32_t x = 0; x < g->in_w; ++x, s += c_n, d += 8) {
                vstrbq_s16(d, vldrbq_gather_offset_s16(s, sources));
            }
        }
        return;
    }
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
        const int32_t groups = (g->out_c + 7) / 8, plane = p->strip_rows * row_bytes;
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
    tf_mve_store8(out + g->out_c, vreinterpretq_s16_s32(e[1]), remaining);
}

/* One output row of one group of eight channels (remaining: channels in the group, up to 8); the
 * output's pixels are out_c channels apart. */
TF_MVE_INLINE void tf_mve_dw_row(const tf_mve_conv_t *p, const int8_t *src, const int8_t *w, const int32_t *q,
                                 int8_t *out, int32_t remaining)
{
    const tf_geom_t *g = &p->g;
    int32_t ox = 0;
    for (; ox + 2 <= g->out_w; ox += 2, src += 2 * g->stride_w * 8, out += 2 * g->out_c) {
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
    const int32_t c_n = g->out_c, taps = g->k_h * g->k_w, full = c_n / 8;
    const int32_t plane = p->strip_rows * p->strip_w * 8;
    tf_mve_window_t window = {0, 0, 0};
    tf_mve_fill(strip, vdupq_n_s8((int8_t)p->pad_value), (c_n + 7) / 8 * plane);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
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

#endif
