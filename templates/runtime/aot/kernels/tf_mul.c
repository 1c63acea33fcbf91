/* MUL int8/int16 with broadcasting (TFLM mul_common.cc EvalMulQuantizedReference: (see tf_mul.h) */
#include "tf_kernels.h"
#include "tf_broadcast.h"
#include "tf_mul.h"

static inline int32_t tf_mul_elem(const tf_mul_params_t *p, int32_t x, int32_t y)
{
    const int32_t prod = (p->in1_offset + x) * (p->in2_offset + y);
    return tf_clamp_i32(tf_requantize(prod, p->out_mult, p->out_shift) + p->output_offset, p->act_min, p->act_max);
}

TF_ELEMENTWISE_ROW(tf_mul_row_s8, tf_mul_params_t, int8_t, int8_t, tf_mul_elem)
TF_ELEMENTWISE_ROW(tf_mul_row_s16, tf_mul_params_t, int16_t, int16_t, tf_mul_elem)
