/* SQUARED_DIFFERENCE int8/int16 with broadcasting (TFLM squared_difference.cc:
 * SquaredDifference<T>(x, y, params); left shift 7 for int8, 0 for int16; the output multiplier may
 * exceed one). Parameters are ADD's; act_min/act_max are the type's bounds. */
#ifndef TF_SQUARED_DIFFERENCE_H
#define TF_SQUARED_DIFFERENCE_H

#include <stdint.h>

void tf_squared_difference_row_s8(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                                  void *out, int32_t n);
void tf_squared_difference_row_s16(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                                   void *out, int32_t n);

#endif
