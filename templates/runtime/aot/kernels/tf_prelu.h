/* PRELU (TFLM prelu.cc, reference_ops::BroadcastPrelu4DSlow): int8 or int16 input and output, int8 alpha,
 * both broadcast to the output's shape (up to 4-D). */
#ifndef TF_PRELU_H
#define TF_PRELU_H

#include <stdint.h>

typedef struct {
    int32_t dims[4];                            /* the output shape, extended to 4-D */
    int32_t in_strides[4], alpha_strides[4];    /* element strides, 0 on a broadcast axis */
    int32_t input_offset, alpha_offset, output_offset;
    int32_t multiplier_1, shift_1;              /* x >= 0: x * in_scale / out_scale */
    int32_t multiplier_2, shift_2;              /* x < 0: x * a * in_scale * alpha_scale / out_scale */
    int32_t act_min, act_max;                   /* the output type's range */
} tf_prelu_params_t;

void tf_prelu_s8(const tf_prelu_params_t *p, const int8_t *in, const int8_t *alpha, int8_t *out);
void tf_prelu_s16(const tf_prelu_params_t *p, const int16_t *in, const int8_t *alpha, int16_t *out);

#endif
