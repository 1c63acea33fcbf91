/* int16 activations with int8 weights ("16x8"): FULLY_CONNECTED, and the helpers TRANSPOSE_CONV and
 * BATCH_MATMUL share for their int16 variants (they list this header too). TFLM accumulates 16x8
 * products in int64 and requantises with its int64 MultiplyByQuantizedMultiplier, which rounds the
 * multiplier to 16 bits first; with an int32 bias FULLY_CONNECTED accumulates in int32 and uses the
 * usual double-rounding form (tf_requantize) instead. */
#ifndef TF_FC16_H
#define TF_FC16_H

#include <stdint.h>
#include "tf_kernels.h"

/* TFLM common.cc MultiplyByQuantizedMultiplier(int64_t x, ...): multiplier reduced to Q15 with
 * rounding, one rounding right shift by 15 - shift, the result truncated to int32. */
static inline int32_t tf_requantize_s64(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    return (int32_t)((acc * reduced + ((int64_t)1 << (total_shift - 1))) >> total_shift);
}

static inline int16_t tf_clamp_s16(int32_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* FULLY_CONNECTED int16 x int8 (per-tensor or per-channel weights, zero point 0). The input offset is
 * folded into the int64 bias at generation time: bias[o] = b[o] - input_zp * sum_d w[o][d]. acc32: the
 * model's bias is int32, so TFLM's accumulator is int32 (the int64 sum taken modulo 2^32 equals it). */
typedef struct {
    int32_t batches, in_depth, out_depth, output_offset, act_min, act_max, acc32;
} tf_fc16_params_t;

static inline int16_t tf_fc16_finish(int64_t acc, int32_t mult, int32_t shift, int32_t output_offset,
                                     int32_t act_min, int32_t act_max, int32_t acc32)
{
    const int32_t scaled = acc32 ? tf_requantize((int32_t)acc, mult, shift) : tf_requantize_s64(acc, mult, shift);
    return tf_clamp_s16(scaled + output_offset, act_min, act_max);
}

/* weights [out_depth][in_depth]; mult/shift per output unit (a per-tensor layer repeats its pair) */
void tf_fully_connected_s16(const tf_fc16_params_t *p, const int16_t *input, const int8_t *weights,
                            const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output);

#endif
