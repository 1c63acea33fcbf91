/* ARG_MAX int8 -> int32 along one axis (TFLM arg_min_max.cc -> reference_ops::ArgMinMax with
 * std::greater): the first index of the largest value. */
#ifndef TF_ARG_MAX_H
#define TF_ARG_MAX_H

#include <stdint.h>

typedef struct {
    int32_t outer, axis, inner;          /* the input as [outer][axis][inner] */
} tf_arg_max_params_t;

void tf_arg_max_s8(const tf_arg_max_params_t *p, const int8_t *input, int32_t *output);

#endif
