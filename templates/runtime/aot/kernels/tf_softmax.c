/* SOFTMAX int8 -> int8: TFLite's reference_ops::Softmax, gemmlowp fixed point (Q5.26 scaled input
 * differences, exp in Q0.31, sum of exps in Q12.19, reciprocal by Newton-Raphson). */
#include "tf_kernels.h"

#define TF_Q31_MAX INT32_MAX

static inline int32_t fx_mul(int32_t a, int32_t b)
{
    return tf_srdhm(a, b);
}

/* SaturatingRoundingMultiplyByPOT with a positive exponent: saturating left shift. */
static inline int32_t fx_sat_shl(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

static inline int32_t fx_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t fx_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out */
static int32_t exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;   /* exp(-1/8) */
    const int32_t one_third = 715827883;
    const int32_t x = fx_add(a, 1 << 28);
    const int32_t x2 = fx_mul(x, x);
    const int32_t x3 = fx_mul(x2, x);
    const int32_t x4 = fx_mul(x2, x2);
    const int32_t x4_over_4 = tf_rdbpot(x4, 2);
    const int32_t poly = tf_rdbpot(fx_add(fx_mul(fx_add(x4_over_4, x3), one_third), x2), 1);
    return fx_add(constant_term, fx_mul(constant_term, fx_add(x, poly)));
}

/* exp(a) for a <= 0, a in Q5.26, result Q0.31 (gemmlowp exp_on_negative_values<int32, 5>) */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308,
                                           39332535, 720401, 242};
    const int32_t one_quarter = 1 << 24;
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod = fx_sub(a & mask, one_quarter);
    int32_t result = exp_quarter(fx_sat_shl(a_mod, 5));
    const int32_t remainder = fx_sub(a_mod, a);
    for (int k = 0; k < 7; ++k) {          /* exponents -2 .. +4, bits 24 .. 30 */
        if (remainder & (1 << (24 + k))) {
            result = fx_mul(result, multipliers[k]);
        }
    }
    return a == 0 ? TF_Q31_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)TF_Q31_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810, cm32_17 = -1010580540;     /* Q2.29 */
    int32_t x = fx_add(c48_17, fx_mul(half_denominator, cm32_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = fx_mul(half_denominator, x);
        const int32_t one_minus = fx_sub(1 << 29, hdx);
        x = fx_add(x, fx_sat_shl(fx_mul(x, one_minus), 2));
    }
    return fx_sat_shl(x, 1);
}

static inline int clz32(uint32_t x)
{
    return x == 0 ? 32 : __builtin_clz(x);
}

void tf_softmax_s8(const tf_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *in = input + i * depth;
        int8_t *out = output + i * depth;
        int32_t max_in = -128;
        for (int32_t c = 0; c < depth; ++c) {
            max_in = in[c] > max_in ? in[c] : max_in;
        }
        int32_t sum_of_exps = 0;       /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = in[c] - max_in;
            if (diff >= p->diff_min) {
                const int32_t scaled = tf_srdhm(diff * (1 << p->input_left_shift), p->input_multiplier);
                sum_of_exps = fx_add(sum_of_exps, tf_rdbpot(exp_on_negative_values(scaled), 12));
            }
        }
        const int headroom_plus_one = clz32((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - (1u << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = in[c] - max_in;
            if (diff >= p->diff_min) {
                const int32_t scaled = tf_srdhm(diff * (1 << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                const int32_t unsat = tf_rdbpot(fx_mul(shifted_scale, e), num_bits_over_unit + 31 - 8);
                out[c] = tf_clamp_s8(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
