/* CONCATENATION (TFLM reference_ops::Concatenation): no arithmetic, int8 inputs share the output's
 * quantisation, so each outer step copies one whole block of every input in turn. */
#ifndef TF_CONCAT_H
#define TF_CONCAT_H

#include <stdint.h>

typedef struct {
    int32_t count;                  /* inputs */
    int32_t outer;                  /* product of the dimensions before the axis */
    const int32_t *block_bytes;     /* per input: bytes from the axis inwards */
    const int8_t *const *inputs;
} tf_concat_params_t;

void tf_concat(const tf_concat_params_t *p, int8_t *output);

#endif
