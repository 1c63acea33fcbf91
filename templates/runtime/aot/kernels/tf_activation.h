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
/* LOGISTIC and TANH (TFLM reference_integer_ops Logistic/Tanh, int16): v = (in * mult + round) >> shift
 * in steps of 1/(3 * 4096), then linear interpolation in ``table`` (sigmoid(i / 24) in 0.16, model.c's
 * tf_sigmoid_q16) on |v| with 9 (logistic) or 8 (tanh) fractional bits, mirrored for v < 0, to Q0.15 */
void tf_logistic_s16(const uint16_t *table, int32_t mult, int32_t shift, const int16_t *in, int16_t *out,
                     int32_t n);
void tf_tanh_s16(const uint16_t *table, int32_t mult, int32_t shift, const int16_t *in, int16_t *out, int32_t n);

#endif
