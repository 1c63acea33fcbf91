/* CONV_2D and DEPTHWISE_CONV_2D int8, per-channel weights (see tf_kernels.h for the arithmetic
 * contract: folded bias, padded taps read as pad_value = input zero point). */
#include <string.h>
#include "tf_kernels.h"
#include "tf_conv_res.h"

static inline int8_t finish(const tf_conv_params_t *p, int32_t acc, int32_t mult, int32_t shift)
{
    return tf_clamp_s8(tf_requantize(acc, mult, shift) + p->output_offset, p->act_min, p->act_max);
}

static inline int32_t sum_s8(const int8_t *w, int32_t n)
{
    int32_t s = 0;
    for (int32_t i = 0; i < n; ++i) {
        s += w[i];
    }
    return s;
}

/* Stores output channel o of a pixel: the convolution's value, or with a folded residual ADD (r) the
 * ADD of it and the skip element, read just before the output over it is written. */
static inline void put(const tf_conv_res_params_t *r, const int8_t *skip, int8_t *out, int32_t o, int8_t v)
{
    if (r == 0) {
        out[o] = v;
    } else {
        const int8_t s = skip[o];
        out[o] = r->position == 0 ? tf_add_one_s8(&r->add, v, s) : tf_add_one_s8(&r->add, s, v);
    }
}

static void conv(const tf_conv_params_t *p, const tf_conv_res_params_t *r, const int8_t *input,
                 const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                 const int8_t *skip, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, kh = g->k_h, kw = g->k_w;
    const int32_t filter_size = kh * kw * ic;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                const int32_t at = ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                int8_t *out = output + at;
                const int8_t *sk = r ? skip + at : out;
                const int interior = iy0 >= 0 && iy0 + (kh - 1) * g->dil_h < g->in_h &&
                                     ix0 >= 0 && ix0 + (kw - 1) * g->dil_w < g->in_w;
                if (interior && g->dil_w == 1) {
                    /* each filter row reads kw * ic contiguous input bytes; four output channels
                     * at a time share the input */
                    int32_t o = 0;
                    for (; o + 4 <= g->out_c; o += 4) {
                        int32_t acc[4] = {bias[o], bias[o + 1], bias[o + 2], bias[o + 3]};
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int8_t *row = in_b + ((iy0 + ky * g->dil_h) * g->in_w + ix0) * ic;
                            tf_dot4_s8(row, weights + o * filter_size + ky * kw * ic, filter_size, kw * ic, acc);
                        }
                        for (int k = 0; k < 4; ++k) {
                            put(r, sk, out, o + k, finish(p, acc[k], mult[o + k], shift[o + k]));
                        }
                    }
                    for (; o < g->out_c; ++o) {
                        const int8_t *w = weights + o * filter_size;
                        int32_t acc = bias[o];
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int8_t *row = in_b + ((iy0 + ky * g->dil_h) * g->in_w + ix0) * ic;
                            acc = tf_dot_s8(row, w + ky * kw * ic, kw * ic, acc);
                        }
                        put(r, sk, out, o, finish(p, acc, mult[o], shift[o]));
                    }
                    continue;
                }
                for (int32_t o = 0; o < g->out_c; ++o) {
                    const int8_t *w = weights + o * filter_size;
                    int32_t acc = bias[o];
                    for (int32_t ky = 0; ky < kh; ++ky) {
                        const int32_t iy = iy0 + ky * g->dil_h;
                        for (int32_t kx = 0; kx < kw; ++kx) {
                            const int32_t ix = ix0 + kx * g->dil_w;
                            const int8_t *wt = w + (ky * kw + kx) * ic;
                            if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w) {
                                acc = tf_dot_s8(in_b + (iy * g->in_w + ix) * ic, wt, ic, acc);
                            } else {
                                acc += p->pad_value * sum_s8(wt, ic);
                            }
                        }
                    }
                    put(r, sk, out, o, finish(p, acc, mult[o], shift[o]));
                }
            }
        }
    }
}

void tf_conv_s8(const tf_conv_params_t *p, const int8_t *input, const int8_t *weights,
                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    conv(p, 0, input, weights, bias, mult, shift, 0, output);
}

void tf_conv_res_s8(const tf_conv_params_t *p, const tf_conv_res_params_t *r, const int8_t *input,
                    const int8_t *weights, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                    const int8_t *skip, int8_t *output)
{
    conv(p, r, input, weights, bias, mult, shift, skip, output);
}

void tf_depthwise_conv_s8(const tf_conv_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, oc = g->out_c, dm = p->depth_multiplier;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                int8_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * oc;
                for (int32_t c = 0; c < ic; ++c) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t o = c * dm + m;
                        int32_t acc = bias[o];
                        for (int32_t ky = 0; ky < g->k_h; ++ky) {
                            const int32_t iy = iy0 + ky * g->dil_h;
                            const int row_in = iy >= 0 && iy < g->in_h;
                            for (int32_t kx = 0; kx < g->k_w; ++kx) {
                                const int32_t ix = ix0 + kx * g->dil_w;
                                const int32_t wv = weights[(ky * g->k_w + kx) * oc + o];
                                const int32_t xv = (row_in && ix >= 0 && ix < g->in_w)
                                                       ? in_b[(iy * g->in_w + ix) * ic + c]
                                                       : p->pad_value;
                                acc += xv * wv;
                            }
                        }
                        out[o] = finish(p, acc, mult[o], shift[o]);
                    }
                }
            }
        }
    }
}
