/* TRANSPOSE_CONV, portable (see tf_transpose_conv.h). TFLM: reference_integer_ops::TransposeConv, int8
 * with input/output offsets and an int32 accumulator, int16 with an int64 one and no offsets. */
#include "tf_transpose_conv.h"
#include "tf_fc16.h"

void tf_transpose_conv_s8(const tf_tconv_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, filter_size = g->k_h * g->k_w * ic;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int8_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (int32_t o = 0; o < g->out_c; ++o) {
                    int32_t acc = bias[o];
                    for (int32_t ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = tf_tconv_source(oy, g->pad_h, ky, g->stride_h, g->in_h);
                        if (iy < 0) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = tf_tconv_source(ox, g->pad_w, kx, g->stride_w, g->in_w);
                            if (ix < 0) {
                                continue;
                            }
                            const int8_t *x = in_b + (iy * g->in_w + ix) * ic;
                            const int8_t *w = weights + o * filter_size + (ky * g->k_w + kx) * ic;
                            for (int32_t c = 0; c < ic; ++c) {
                                acc += (x[c] + p->input_offset) * w[c];
                            }
                        }
                    }
                    out[o] = tf_clamp_s8(tf_requantize(acc, mult[o], shift[o]) + p->output_offset, p->act_min,
                                         p->act_max);
                }
            }
        }
    }
}

void tf_transpose_conv_s16(const tf_tconv_params_t *p, const int16_t *input, const int8_t *weights,
                           const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, filter_size = g->k_h * g->k_w * ic;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int16_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                for (int32_t o = 0; o < g->out_c; ++o) {
                    int64_t acc = bias[o];
                    for (int32_t ky = 0; ky < g->k_h; ++ky) {
                        const int32_t iy = tf_tconv_source(oy, g->pad_h, ky, g->stride_h, g->in_h);
                        if (iy < 0) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < g->k_w; ++kx) {
                            const int32_t ix = tf_tconv_source(ox, g->pad_w, kx, g->stride_w, g->in_w);
                            if (ix < 0) {
                                continue;
                            }
                            const int16_t *x = in_b + (iy * g->in_w + ix) * ic;
                            const int8_t *w = weights + o * filter_size + (ky * g->k_w + kx) * ic;
                            for (int32_t c = 0; c < ic; ++c) {
                                acc += (int32_t)x[c] * w[c];
                            }
                        }
                    }
                    out[o] = tf_clamp_s16(tf_requantize_s64(acc, mult[o], shift[o]), p->act_min, p->act_max);
                }
            }
        }
    }
}
