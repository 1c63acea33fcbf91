/* QUANTIZE and DEQUANTIZE kernels of tf_quantize.h, bit-exact with TFLM's reference_ops::AffineQuantize,
 * Requantize and Dequantize. */
#include "tf_kernels.h"
#include "tf_quantize.h"

/* AffineQuantize: round(x / scale) + zero point, clamped. TFLM divides in float (the double scale is cast
 * to float first) and rounds half away from zero (TfLiteRound); float division is correctly rounded on
 * every FPU and in soft float, so this is exact without double. The quotient is clamped before the
 * conversion to int (an out-of-range conversion is undefined in C); NaN goes to the lowest value, as on
 * TFLM's x86 host build. Beyond +-65536 the result is clamped anyway. */
static inline int32_t tf_affine_quantize(float x, float scale, int32_t zero_point, int32_t lo, int32_t hi)
{
    float v = x / scale;
    if (!(v > -65536.0f)) {
        v = -65536.0f;
    } else if (v > 65536.0f) {
        v = 65536.0f;
    }
    int32_t t = (int32_t)v;          /* toward zero */
    float frac = v - (float)t;       /* exact: v's own fraction bits */
    if (frac >= 0.5f) {
        t += 1;
    } else if (frac <= -0.5f) {
        t -= 1;
    }
    int32_t q = t + zero_point;
    return q < lo ? lo : (q > hi ? hi : q);
}

void tf_quantize_f32_s8(const float *in, int8_t *out, int32_t n, float scale, int32_t zero_point)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int8_t)tf_affine_quantize(in[i], scale, zero_point, INT8_MIN, INT8_MAX);
    }
}

void tf_quantize_f32_s16(const float *in, int16_t *out, int32_t n, float scale, int32_t zero_point)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = (int16_t)tf_affine_quantize(in[i], scale, zero_point, INT16_MIN, INT16_MAX);
    }
}

static inline int32_t tf_requant_one(const tf_requant_params_t *p, int32_t x)
{
    /* the offset added in unsigned arithmetic: int32 outputs wrap as TFLM's do, without undefined behaviour */
    uint32_t scaled = (uint32_t)tf_requantize(x - p->input_offset, p->multiplier, p->shift);
    return (int32_t)(scaled + (uint32_t)p->output_offset);
}

void tf_requantize_s16_s8(const tf_requant_params_t *p, const int16_t *in, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = tf_requant_one(p, in[i]);
        out[i] = (int8_t)(v < INT8_MIN ? INT8_MIN : (v > INT8_MAX ? INT8_MAX : v));
    }
}

void tf_requantize_s16_s16(const tf_requant_params_t *p, const int16_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = tf_requant_one(p, in[i]);
        out[i] = (int16_t)(v < INT16_MIN ? INT16_MIN : (v > INT16_MAX ? INT16_MAX : v));
    }
}

void tf_requantize_s16_s32(const tf_requant_params_t *p, const int16_t *in, int32_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = tf_requant_one(p, in[i]);
    }
}

/* Dequantize: float(double scale * (x - zero point)). The double product is exact (24-bit scale times a
 * 17-bit integer), so it rounds to the same float as the correctly rounded float product. */
void tf_dequantize_s16_f32(const int16_t *in, float *out, int32_t n, float scale, int32_t zero_point)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = scale * (float)((int32_t)in[i] - zero_point);
    }
}
