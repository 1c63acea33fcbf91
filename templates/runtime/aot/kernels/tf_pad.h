/* PAD and PADV2 (TFLM reference_ops::Pad): the input framed by constant elements, over at most five
 * axes (shapes extended at generation time, outermost first). */
#ifndef TF_PAD_H
#define TF_PAD_H

#include <stdint.h>

typedef struct {
    int32_t in_dims[5];
    int32_t out_dims[5];
    int32_t before[5];      /* padding before the input along each axis; the rest is after it */
    int32_t value;          /* the padding element (its bits, for float32) */
} tf_pad_params_t;

/* by element size: float32 and int32 share the 4-byte kernel */
void tf_pad_s8(const tf_pad_params_t *p, const int8_t *input, int8_t *output);
void tf_pad_s16(const tf_pad_params_t *p, const int16_t *input, int16_t *output);
void tf_pad_s32(const tf_pad_params_t *p, const int32_t *input, int32_t *output);

#endif
