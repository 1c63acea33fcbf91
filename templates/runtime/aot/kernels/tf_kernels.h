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

#if TF_USE_DSP
#include <arm_acle.h>
#include <string.h>

/* SXTB16 with its built-in rotation: bytes 1 and 3 as two int16 in one instruction (GCC 12 does not
 * fold a separate ROR into the ACLE form). */
static inline int16x2_t tf_sxtb16_ror8(uint32_t x)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline uint32_t tf_load32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
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

/* AVERAGE_POOL_2D's division of a window sum by its tap count, rounding half away from zero as
 * TFLite's reference (an empty window gives 0). */
static inline int32_t tf_pool_average(int32_t sum, int32_t count)
{
    return count <= 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/* One dot product x[n] . w[n] added to acc (SMLAD pairs on DSP cores). */
static inline int32_t tf_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if TF_USE_DSP
    for (; i + 4 <= n; i += 4) {
        uint32_t a = tf_load32(x + i), b = tf_load32(w + i);
        acc = __smlad(__sxtb16(a), __sxtb16(b), acc);
        acc = __smlad(tf_sxtb16_ror8(a), tf_sxtb16_ror8(b), acc);
    }
#endif
    for (; i < n; ++i) {
        acc += (int32_t)x[i] * (int32_t)w[i];
    }
    return acc;
}

/* Four dot products of one int8 vector x[n] with four weight rows w, w+stride, w+2*stride, w+3*stride,
 * added to acc[0..3]. On DSP cores the expanded input word is shared by the four rows: per 16 MACs
 * one input load and two SXTB16, then per row one load, two SXTB16 and two SMLAD. */
static inline void tf_dot4_s8(const int8_t *x, const int8_t *w, int32_t stride, int32_t n, int32_t acc[4])
{
    const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
#if TF_USE_DSP
    for (; i + 4 <= n; i += 4) {
        uint32_t v = tf_load32(x + i);
        int16x2_t x02 = __sxtb16(v), x13 = tf_sxtb16_ror8(v);
        v = tf_load32(w0 + i);
        a0 = __smlad(x02, __sxtb16(v), a0);
        a0 = __smlad(x13, tf_sxtb16_ror8(v), a0);
        v = tf_load32(w1 + i);
        a1 = __smlad(x02, __sxtb16(v), a1);
        a1 = __smlad(x13, tf_sxtb16_ror8(v), a1);
        v = tf_load32(w2 + i);
        a2 = __smlad(x02, __sxtb16(v), a2);
        a2 = __smlad(x13, tf_sxtb16_ror8(v), a2);
        v = tf_load32(w3 + i);
        a3 = __smlad(x02, __sxtb16(v), a3);
        a3 = __smlad(x13, tf_sxtb16_ror8(v), a3);
    }
#endif
    for (; i < n; ++i) {
        int32_t xv = x[i];
        a0 += xv * w0[i];
        a1 += xv * w1[i];
        a2 += xv * w2[i];
        a3 += xv * w3[i];
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* FULLY_CONNECTED, per-tensor weights (zero point 0). The input offset is folded into the bias at
 * generation time: bias[o] = b[o] - input_zp * sum_d w[o][d], so the loop is a plain dot product. */
typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t multiplier, shift, output_offset, act_min, act_max;
} tf_fc_params_t;

void tf_fully_connected_s8(const tf_fc_params_t *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output);

/* Spatial geometry shared by CONV_2D, DEPTHWISE_CONV_2D and the pools (NHWC, batch folded into
 * 'batches'). pad_h/pad_w are the top/left paddings of TFLite's ComputePaddingHeightWidth. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
} tf_geom_t;

/* CONV_2D / DEPTHWISE_CONV_2D, per-channel int8 weights (zero point 0).
 * The bias is folded at generation time over ALL taps: bias[c] = b[c] - input_zp * sum(w[c]). A tap
 * that falls in the padding then has to contribute input_zp * w (so that it cancels its share of the
 * fold, i.e. contributes (zp - zp) * w = 0 as in TFLite, where padded inputs are skipped): kernels
 * read padded positions as the value pad_value = input_zp. Requantisation per output channel:
 * clamp(tf_requantize(acc, mult[c], shift[c]) + output_offset, act_min, act_max). */
typedef struct {
    tf_geom_t g;
    int32_t depth_multiplier;          /* DEPTHWISE_CONV_2D only */
    int32_t pad_value, output_offset, act_min, act_max;
} tf_conv_params_t;

/* weights OHWI [out_c][k_h][k_w][in_c] */
void tf_conv_s8(const tf_conv_params_t *p, const int8_t *input, const int8_t *weights,
                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);
/* weights 1HWO [k_h][k_w][out_c], out_c = in_c * depth_multiplier */
void tf_depthwise_conv_s8(const tf_conv_params_t *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

/* AVERAGE_POOL_2D / MAX_POOL_2D int8 (input and output share scale and zero point). Only the taps
 * inside the input count; the average divides rounding half away from zero, as TFLite does. */
typedef struct {
    tf_geom_t g;                       /* in_c == out_c, dil_* unused */
    int32_t act_min, act_max;
} tf_pool_params_t;

void tf_avg_pool_s8(const tf_pool_params_t *p, const int8_t *input, int8_t *output);
void tf_max_pool_s8(const tf_pool_params_t *p, const int8_t *input, int8_t *output);

/* ADD int8, same shapes (TFLite's quantized add: both inputs shifted left by left_shift, rescaled to
 * a common scale, summed, rescaled to the output). Shifts are <= 0 (right shifts). */
typedef struct {
    int32_t size;
    int32_t in1_offset, in1_mult, in1_shift;
    int32_t in2_offset, in2_mult, in2_shift;
    int32_t left_shift, out_mult, out_shift, output_offset, act_min, act_max;
} tf_add_params_t;

void tf_add_s8(const tf_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128): gemmlowp fixed-point exp, as TFLite's
 * reference_ops::Softmax, with input_beta_multiplier/left_shift and diff_min from
 * PreprocessSoftmaxScaling and CalculateInputRadius. */
typedef struct {
    int32_t outer, depth, input_multiplier, input_left_shift, diff_min;
} tf_softmax_params_t;

void tf_softmax_s8(const tf_softmax_params_t *p, const int8_t *input, int8_t *output);

/* RESHAPE when it cannot alias its input: a byte copy. */
void tf_copy_s8(int8_t *output, const int8_t *input, int32_t bytes);

#endif
