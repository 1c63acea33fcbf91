/* int16 activations (the int8 ones are tables, tf_lut.h). */
#ifndef TF_ACTIVATION_H
#define TF_ACTIVATION_H

#include <stdint.h>

/* RELU and LEAKY_RELU (TFLM ReluQuantized, reference_ops::QuantizeLeakyRelu): x = in - input_offset;
 * x >= 0: MultiplyByQuantizedMultiplier(x, pos); else that of x with neg (negated when negate_neg, TFLM's
 * negative alpha); plus output_offset, clamped to [act_min, act_max]. */
typedef struct {
    int32_t input_offset, output_offset, pos_multiplier, pos_shift, neg_multiplier, neg_shift, negate_neg;
    int32_t act_min, act_max;
} tf_rescale_params_t;

void tf_rescale_s16(const tf_rescale_params_t *p, const int16_t *in, int16_t *out, int32_t n);
/* RELU6 (TFLM Relu6Quantized): the input clamped to [lo, hi] */
void tf_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi);

#endif
