/* MUL int8/int16 with broadcasting (TFLM mul_common.cc EvalMulQuantizedReference:
 * reference_integer_ops::MulElementwise / BroadcastMul6DSlow): the product of the offset inputs,
 * requantised by MultiplyByQuantizedMultiplier (the multiplier may exceed one). */
#ifndef TF_MUL_H
#define TF_MUL_H

#include <stdint.h>

typedef struct {
    int32_t in1_offset, in2_offset, out_mult, out_shift, output_offset, act_min, act_max;
} tf_mul_params_t;

void tf_mul_row_s8(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                   void *out, int32_t n);
void tf_mul_row_s16(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                    void *out, int32_t n);

#endif
