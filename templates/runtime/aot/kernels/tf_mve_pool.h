/* Helium (MVE) AVERAGE_POOL_2D (see tf_mve_requant.h for what the Helium kernels share). */
#ifndef TF_MVE_POOL_H
#define TF_MVE_POOL_H

#include "tf_mve_requant.h"

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
