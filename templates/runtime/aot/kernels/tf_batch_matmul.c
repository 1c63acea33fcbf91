/* BATCH_MATMUL, portable (see tf_batch_matmul.h). */
#include "tf_batch_matmul.h"
#include "tf_fc16.h"

void tf_batch_matmul_s8(const tf_bmm_params_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *output)
{
    for (int32_t b0 = 0; b0 < p->batches[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batches[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batches[2]; ++b2) {
                const int8_t *l = lhs + b0 * p->lhs_batch[0] + b1 * p->lhs_batch[1] + b2 * p->lhs_batch[2];
                const int8_t *r = rhs + b0 * p->rhs_batch[0] + b1 * p->rhs_batch[1] + b2 * p->rhs_batch[2];
                for (int32_t a = 0; a < p->rows; ++a) {
                    for (int32_t c = 0; c < p->cols; ++c) {
                        int32_t acc = 0;
                        for (int32_t k = 0; k < p->depth; ++k) {
                            acc += (l[a * p->lhs_row + k * p->lhs_depth] + p->lhs_offset) *
                                   (r[c * p->rhs_col + k * p->rhs_depth] + p->rhs_offset);
                        }
                        *output++ = tf_clamp_s8(tf_requantize(acc, p->multiplier, p->shift) + p->output_offset,
                                                p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void tf_batch_matmul_s16(const tf_bmm_params_t *p, const int16_t *lhs, const int16_t *rhs, int16_t *output)
{
    for (int32_t b0 = 0; b0 < p->batches[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batches[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batches[2]; ++b2) {
                const int16_t *l = lhs + b0 * p->lhs_batch[0] + b1 * p->lhs_batch[1] + b2 * p->lhs_batch[2];
                const int16_t *r = rhs + b0 * p->rhs_batch[0] + b1 * p->rhs_batch[1] + b2 * p->rhs_batch[2];
                for (int32_t a = 0; a < p->rows; ++a) {
                    for (int32_t c = 0; c < p->cols; ++c) {
                        int64_t acc = 0;
                        for (int32_t k = 0; k < p->depth; ++k) {
                            acc += (int32_t)l[a * p->lhs_row + k * p->lhs_depth] * r[c * p->rhs_col + k * p->rhs_depth];
                        }
                        *output++ = tf_clamp_s16(tf_requantize_s64(acc, p->multiplier, p->shift) + p->output_offset,
                                                 p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
