/* ADD beyond tf_add.c's same-shape int8 path: broadcasting, a constant operand, int16.
 * TFLM add.cc: reference_integer_ops::AddFunc (int8) and reference_ops::AddElementwise (int16,
 * left shift 15). TFLM's int16 ADD always takes the general rescaling, whatever pot_scale_int16 says. */
#ifndef TF_ADD16_H
#define TF_ADD16_H

#include <stdint.h>

void tf_add_row_s8(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                   void *out, int32_t n);
void tf_add_row_s16(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                    void *out, int32_t n);

#endif
