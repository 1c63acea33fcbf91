/* SUB int8/int16 with broadcasting (TFLM sub.cc: reference_ops::SubElementwise and
 * BroadcastQuantSubSlow; left shift 20 for int8, 15 for int16). TFLM's int16 SUB always takes this
 * general rescaling, whatever pot_scale_int16 says. Parameters are ADD's. */
#ifndef TF_SUB_H
#define TF_SUB_H

#include <stdint.h>

void tf_sub_row_s8(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                   void *out, int32_t n);
void tf_sub_row_s16(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                    void *out, int32_t n);

#endif
