/* A strided view of a tensor copied out in order: the kernel of STRIDED_SLICE and TRANSPOSE (TFLM
 * reference_ops::StridedSlice and reference_ops::Transpose only move elements, so one gather over a
 * view of at most five axes does both; the axes are coalesced at generation time). */
#ifndef TF_SLICE_H
#define TF_SLICE_H

#include <stdint.h>

typedef struct {
    int32_t start;        /* input element of output element 0 */
    int32_t dims[5];      /* output extent of each axis, outermost first */
    int32_t steps[5];     /* input elements between neighbours along each axis (negative: backwards) */
} tf_slice_params_t;

/* by element size: float32 and int32 share the 4-byte kernel */
void tf_slice_s8(const tf_slice_params_t *p, const int8_t *input, int8_t *output);
void tf_slice_s16(const tf_slice_params_t *p, const int16_t *input, int16_t *output);
void tf_slice_s32(const tf_slice_params_t *p, const int32_t *input, int32_t *output);

#endif
