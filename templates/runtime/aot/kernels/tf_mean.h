/* MEAN int8/int16 over any axes (TFLM reduce_common.cc EvalIntegerMean ->
 * reference_ops::QuantizedMeanOrSum): int32 sums per output, minus input_zp * count, requantised
 * by MultiplyByQuantizedMultiplier with the multiplier already divided by the count at generation
 * time, plus the output zero point, clamped to the type.
 * The generator drops unit dimensions and fuses neighbours reduced alike into at most 8 levels
 * (outermost first); out_step is a level's step in the sums (0 where it is reduced), so the
 * innermost level either sums a contiguous run or adds a row into the sums. */
#ifndef TF_MEAN_H
#define TF_MEAN_H

#include <stdint.h>

#define TF_MEAN_MAX_LEVELS 8

typedef struct {
    int32_t levels, outputs;
    int32_t dim[TF_MEAN_MAX_LEVELS], out_step[TF_MEAN_MAX_LEVELS];
    int32_t sum_offset;                  /* -input_zp * count, wrapped to int32 as TFLM's cast */
    int32_t mult, shift, output_offset, act_min, act_max;
} tf_mean_params_t;

/* acc: outputs int32 of scratch */
void tf_mean_s8(const tf_mean_params_t *p, const int8_t *input, int8_t *output, int32_t *acc);
void tf_mean_s16(const tf_mean_params_t *p, const int16_t *input, int16_t *output, int32_t *acc);

#endif
