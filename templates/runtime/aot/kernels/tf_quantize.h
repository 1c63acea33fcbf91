/* QUANTIZE from float32 and int16, DEQUANTIZE from int16 (the int8 inputs go through tf_lut.h). */
#ifndef TF_QUANTIZE_H
#define TF_QUANTIZE_H

#include <stdint.h>

/* reference_ops::Requantize: clamp(output_offset + MultiplyByQuantizedMultiplier(x - input_offset)) */
typedef struct {
    int32_t multiplier, shift, input_offset, output_offset;
} tf_requant_params_t;

void tf_quantize_f32_s8(const float *in, int8_t *out, int32_t n, float scale, int32_t zero_point);
void tf_quantize_f32_s16(const float *in, int16_t *out, int32_t n, float scale, int32_t zero_point);
void tf_requantize_s16_s8(const tf_requant_params_t *p, const int16_t *in, int8_t *out, int32_t n);
void tf_requantize_s16_s16(const tf_requant_params_t *p, const int16_t *in, int16_t *out, int32_t n);
void tf_requantize_s16_s32(const tf_requant_params_t *p, const int16_t *in, int32_t *out, int32_t n);
void tf_dequantize_s16_f32(const int16_t *in, float *out, int32_t n, float scale, int32_t zero_point);

#endif
