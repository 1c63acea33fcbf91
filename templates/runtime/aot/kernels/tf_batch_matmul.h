/* BATCH_MATMUL int8 (int32 accumulator, zero points as offsets) and int16 (zero points 0, int64
 * accumulator and TFLM's int64 requantisation). TFLM: batch_matmul.cc, reference_ops::BatchMatMul.
 * out[b][a][c] = sum_k (L(b, a, k) + lhs_offset) * (R(b, k, c) + rhs_offset), requantised with one
 * per-tensor multiplier. Batch dimensions (up to three: ranks 2..5) broadcast through stride 0; the
 * adj_x / adj_y transpositions are the element strides of the rows and the depth. */
#ifndef TF_BATCH_MATMUL_H
#define TF_BATCH_MATMUL_H

#include <stdint.h>
#include "tf_kernels.h"

typedef struct {
    int32_t batches[3];                   /* output batch dimensions, outermost first (1 when absent) */
    int32_t lhs_batch[3], rhs_batch[3];   /* operand element strides per batch dimension, 0 = broadcast */
    int32_t rows, cols, depth;            /* the output matrix is rows x cols; depth is summed over */
    int32_t lhs_row, lhs_depth;           /* L(a, k) at a * lhs_row + k * lhs_depth */
    int32_t rhs_col, rhs_depth;           /* R(k, c) at c * rhs_col + k * rhs_depth */
    int32_t lhs_offset, rhs_offset, output_offset;
    int32_t multiplier, shift, act_min, act_max;
} tf_bmm_params_t;

void tf_batch_matmul_s8(const tf_bmm_params_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);
void tf_batch_matmul_s16(const tf_bmm_params_t *p, const int16_t *lhs, const int16_t *rhs, int16_t *output);

#endif
