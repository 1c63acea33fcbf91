/* TRANSPOSE_CONV, int8 (per-channel int8 weights, int32 bias) and 16x8 (int16 activations with zero
 * point 0, int64 bias). TFLM's reference kernels scatter every input pixel into an accumulator image;
 * here each output pixel gathers the taps that reach it: output (oy, ox) takes filter tap (ky, kx) from
 * input (iy, ix) when oy + pad_h - ky = iy * stride_h and ox + pad_w - kx = ix * stride_w. The integer
 * sums are the same. pad_h/pad_w: TFLM's ComputePaddingHeightWidth run on the output size. */
#ifndef TF_TRANSPOSE_CONV_H
#define TF_TRANSPOSE_CONV_H

#include <stdint.h>
#include "tf_kernels.h"

typedef struct {
    tf_geom_t g;                       /* dil_* unused (1) */
    int32_t input_offset, output_offset, act_min, act_max;   /* offsets: int8 only */
} tf_tconv_params_t;

/* weights OHWI [out_c][k_h][k_w][in_c]; bias per output channel (zeros when the model has none);
 * per-channel mult/shift as TFLM's PopulateConvolutionQuantizationParams */
void tf_transpose_conv_s8(const tf_tconv_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);
void tf_transpose_conv_s16(const tf_tconv_params_t *p, const int16_t *input, const int8_t *weights,
                           const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output);

/* The input row (or column) a tap reads for output coordinate o, or -1 when it reads none. */
static inline int32_t tf_tconv_source(int32_t o, int32_t pad, int32_t k, int32_t stride, int32_t in_size)
{
    const int32_t t = o + pad - k;
    if (t < 0 || t % stride != 0 || t / stride >= in_size) {
        return -1;
    }
    return t / stride;
}

#endif
