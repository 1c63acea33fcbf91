/* SVDF int8 input and feature weights, int16 time weights and activation state (TFLM svdf_common.cc
 * EvalIntegerSvdfReference<int16_t>): the state row of every filter shifts left by one, the feature
 * dot product (requantised to the state's scale, clamped to int16) enters its last slot, each
 * filter's time dot product over the memory is summed per unit over the rank, biased, requantised. */
#ifndef TF_SVDF_H
#define TF_SVDF_H

#include <stdint.h>

typedef struct {
    int32_t batches, input_size, filters, units, rank, memory;
    int32_t state_zp, output_zp;
    int32_t mult1, shift1, mult2, shift2;     /* feature -> state, time sum -> output */
} tf_svdf_params_t;

/* acc[f] = bias[f] + x . w[f] for the 'rows' rows of w (int8, 'cols' wide) */
typedef void (*tf_svdf_feature_fn)(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows,
                                   int32_t cols, int32_t *acc);
/* sum_j a[j] * b[j], int32 wrapping, over n int16 */
typedef int32_t (*tf_svdf_time_fn)(const int16_t *a, const int16_t *b, int32_t n);

/* feature_bias[f] = -input_zp * sum(w[f]) (the input offset folded); time_bias[f] = -state_zp * sum(wt[f]);
 * scratch holds 'filters' int32. The state is a variable tensor, updated in place. */
void tf_svdf_s8_s16(const tf_svdf_params_t *p, const int8_t *input, const int8_t *weights_feature,
                    const int32_t *feature_bias, const int16_t *weights_time, const int32_t *time_bias,
                    const int32_t *bias, int16_t *state, int32_t *scratch, int8_t *output,
                    tf_svdf_feature_fn feature, tf_svdf_time_fn time);

int32_t tf_svdf_time_portable(const int16_t *a, const int16_t *b, int32_t n);

#endif
