/* tinyflash AOT int8 kernels. Arithmetic follows TFLite's reference kernels exactly (the golden):
 * int32 accumulation, requantisation by a rounding doubling high multiply and a rounding right shift
 * (gemmlowp's SaturatingRoundingDoublingHighMul / RoundingDivideByPOT), then the zero point and the
 * activation clamp. Every kernel has a portable C path; cores with the DSP extension get SIMD paths. */
#ifndef TF_KERNELS_H
#define TF_KERNELS_H

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(TF_PORTABLE_KERNELS)
#define TF_USE_DSP 1
#else
#define TF_USE_DSP 0
#endif

static inline int32_t tf_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / (1ll << 31));
}

static inline int32_t tf_rdbpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier (the double-rounding variant TFLM builds by default). */
static inline int32_t tf_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return tf_rdbpot(tf_srdhm((int32_t)((uint32_t)acc << left), multiplier), right);
}

static inline int8_t tf_clamp_s8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* FULLY_CONNECTED, per-tensor weights (zero point 0). The input offset is folded into the bias at
 * generation time: bias[o] = b[o] - input_zp * sum_d w[o][d], so the loop is a plain dot product. */
typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t multiplier, shift, output_offset, act_min, act_max;
} tf_fc_params_t;

void tf_fully_connected_s8(const tf_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output);

#endif
