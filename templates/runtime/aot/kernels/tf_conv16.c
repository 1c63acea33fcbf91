/* CONV_2D and DEPTHWISE_CONV_2D 16x8, portable C (tf_conv16.h). Input zero point 0: taps in the
 * padding add nothing, as TFLM skips them. */
#include "tf_conv16.h"

void tf_conv_s16(const tf_conv16_params_t *p, const int16_t *input, const int8_t *weights, const int32_t *bias,
                 const int32_t *mult, const int32_t *shift, const int32_t *reduced, int16_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, filter_size = g->k_h * g->k_w * ic;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                int16_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (int32_t o = 0; o < g->out_c; ++o) {
                    const int8_t *w = weights + o * filter_size;
                    int64_t sum = 0;
                    for (int32_t ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g->dil_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g->dil_w;
                            if (ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            const int16_t *x = in_b + (iy * g->in_w + ix) * ic;
                            const int8_t *wt = w + (ky * g->k_w + kx) * ic;
                            for (int32_t c = 0; c < ic; ++c) {
                                sum += (int32_t)x[c] * wt[c];
                            }
                        }
                    }
                    out[o] = tf_conv16_finish(p, sum, bias, mult, shift, reduced, o);
                }
            }
        }
    }
}

void tf_depthwise_conv_s16(const tf_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, const int32_t *reduced,
                           int16_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, oc = g->out_c, dm = p->depth_multiplier;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                int16_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * oc;
                for (int32_t o = 0; o < oc; ++o) {
                    const int32_t c = o / dm;
                    int64_t sum = 0;
                    for (int32_t ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = iy0 + ky * g->dil_h;
                        for (int32_t kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = ix0 + kx * g->dil_w;
                            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                                sum += (int32_t)in_b[(iy * g->in_w + ix) * ic + c] *
                                       weights[(ky * g->k_w + kx) * oc + o];
                            }
                        }
                    }
                    out[o] = tf_conv16_finish(p, sum, bias, mult, shift, reduced, o);
                }
            }
        }
    }
}
