/* CONV_2D and DEPTHWISE_CONV_2D 16x8: int16 activations (zero point 0), int8 per-channel weights (zero
 * point 0), int64 bias (CONV_2D also int32), as TFLM's reference_integer_ops::ConvPerChannel /
 * DepthwiseConvPerChannel int16 variants: a 64-bit accumulator plus the int64 bias requantised by the
 * int64 MultiplyByQuantizedMultiplier (multiplier reduced to 15 bits, one rounding); with an int32 bias
 * TFLM's CONV_2D accumulates in int32 (wrapping) and requantises as the int8 kernels do. */
#ifndef TF_CONV16_H
#define TF_CONV16_H

#include <stdint.h>
#include "tf_kernels.h"

/* acc32: the int32-bias form. Per channel: mult and shift are TFLite's; reduced (the int64 form's
 * 15-bit multiplier, computed at generation time as TFLM does) is used when acc32 is 0. The bias is
 * int32 pairs (low word, high word) of each int64 value, or one int32 per channel when acc32. */
typedef struct {
    tf_geom_t g;
    int32_t depth_multiplier;    /* DEPTHWISE_CONV_2D only */
    int32_t act_min, act_max, acc32;
} tf_conv16_params_t;

/* TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...) with reduced = the multiplier rounded to 15
 * bits: (x * reduced + 2^(14 - shift)) >> (15 - shift). */
static inline int32_t tf_requantize64(int64_t acc, int32_t reduced, int32_t shift)
{
    const int32_t total = 15 - shift;
    return (int32_t)((acc * reduced + ((int64_t)1 << (total - 1))) >> total);
}

static inline int64_t tf_bias64(const int32_t *bias, int32_t o)
{
    return (int64_t)(((uint64_t)(uint32_t)bias[2 * o + 1] << 32) | (uint32_t)bias[2 * o]);
}

/* The requantised, clamped output of one channel's sum of products (int64; the int32 form wraps it
 * as TFLM's int32 accumulator would). */
static inline int16_t tf_conv16_finish(const tf_conv16_params_t *p, int64_t sum, const int32_t *bias,
                                       const int32_t *mult, const int32_t *shift, const int32_t *reduced,
                                       int32_t o)
{
    int32_t r;
    if (p->acc32) {
        r = tf_requantize((int32_t)((uint32_t)sum + (uint32_t)bias[o]), mult[o], shift[o]);
    } else {
        r = tf_requantize64(sum + tf_bias64(bias, o), reduced[o], shift[o]);
    }
    return (int16_t)(r < p->act_min ? p->act_min : (r > p->act_max ? p->act_max : r));
}

/* weights OHWI [out_c][k_h][k_w][in_c] */
void tf_conv_s16(const tf_conv16_params_t *p, const int16_t *input, const int8_t *weights, const int32_t *bias,
                 const int32_t *mult, const int32_t *shift, const int32_t *reduced, int16_t *output);
/* weights 1HWO [k_h][k_w][out_c], out_c = in_c * depth_multiplier */
void tf_depthwise_conv_s16(const tf_conv16_params_t *p, const int16_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, const int32_t *reduced,
                           int16_t *output);

#endif
