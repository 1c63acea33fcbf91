/* Element-wise operators on int8 inputs as 256-entry tables made at generation time (ops/lut.py):
 * QUANTIZE from int8, DEQUANTIZE from int8, and the int8 activations. table[x + 128] is the output
 * TFLM's reference kernel computes for the input byte x. */
#ifndef TF_LUT_H
#define TF_LUT_H

#include <stdint.h>

void tf_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n);
void tf_lut_s8_s16(const int16_t *table, const int8_t *in, int16_t *out, int32_t n);
void tf_lut_s8_s32(const int32_t *table, const int8_t *in, int32_t *out, int32_t n);
void tf_lut_s8_f32(const float *table, const int8_t *in, float *out, int32_t n);

#endif
