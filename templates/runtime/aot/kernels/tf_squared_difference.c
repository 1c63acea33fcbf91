/* SQUARED_DIFFERENCE int8/int16 with broadcasting (TFLM squared_difference.cc: (see tf_squared_difference.h) */
#include "tf_kernels.h"
#include "tf_broadcast.h"
#include "tf_squared_difference.h"

static inline int32_t tf_squared_difference_elem(const tf_add_params_t *p, int32_t x, int32_t y)
{
    const int32_t sx = tf_requantize(tf_shl(p->in1_offset + x, p->left_shift), p->in1_mult, p->in1_shift);
    const int32_t sy = tf_requantize(tf_shl(p->in2_offset + y, p->left_shift), p->in2_mult, p->in2_shift);
    const int32_t d = sx - sy;
    return tf_clamp_i32(tf_requantize(d * d, p->out_mult, p->out_shift) + p->output_offset, p->act_min,
                        p->act_max);
}

TF_ELEMENTWISE_ROW(tf_squared_difference_row_s8, tf_add_params_t, int8_t, int8_t, tf_squared_difference_elem)
TF_ELEMENTWISE_ROW(tf_squared_difference_row_s16, tf_add_params_t, int16_t, int16_t, tf_squared_difference_elem)
