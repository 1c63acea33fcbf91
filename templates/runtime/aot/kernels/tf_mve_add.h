/* Helium (MVE) ADD (see tf_mve_requant.h for what the Helium kernels share). */
#ifndef TF_MVE_ADD_H
#define TF_MVE_ADD_H

#include "tf_mve_requant.h"

/* ---- ADD (same shapes) ---------------------------------------------------------------------------
 * TFLite's AddElementwise for four elements per vector, with tf_add_params_t (tf_kernels.h): both
 * inputs offset and shifted left, each rescaled by MultiplyByQuantizedMultiplierSmallerThanOneExp,
 * summed, rescaled to the output (same rounding argument as tf_mve_requant), offset and clamped.
 * (x + offset) * 2^left_shift is one VMLAS: x * 2^left_shift + offset * 2^left_shift, both exact
 * in int32 (|x + offset| <= 255, left_shift 20). */

/* RoundingDivideByPOT by a layer constant n >= 0 (nothing to do for n = 0); half_up: ties of
 * negative values may round up (see tf_mve_requant: TF_MVE_ROUND_UP). */
TF_MVE_INLINE int32x4_t tf_mve_rdbpot(int32x4_t x, int32_t n, int half_up)
{
    if (n == 0) {
        return x;
    }
    if (!half_up) {
        x = vqaddq_s32(x, vshrq_n_s32(x, 31));
    }
    return vrshlq_n_s32(x, -n);
}

TF_MVE_INLINE int32x4_t tf_mve_add4(const tf_add_params_t *p, int32x4_t a, int32x4_t b, int32x4_t scale)
{
    a = vmlasq_n_s32(a, scale, p->in1_offset * (1 << p->left_shift));
    b = vmlasq_n_s32(b, scale, p->in2_offset * (1 << p->left_shift));
    const int32x4_t sum = vaddq_s32(tf_mve_rdbpot(vqrdmulhq_n_s32(a, p->in1_mult), -p->in1_shift, 0),
                                    tf_mve_rdbpot(vqrdmulhq_n_s32(b, p->in2_mult), -p->in2_shift, 0));
    int32x4_t r = tf_mve_rdbpot(vqrdmulhq_n_s32(sum, p->out_mult), -p->out_shift, p->act_min >= p->output_offset);
    r = vaddq_n_s32(r, p->output_offset);
    r = vmaxq_s32(r, vdupq_n_s32(p->act_min));
    return vminq_s32(r, vdupq_n_s32(p->act_max));
}

/* n elements (p->size unused); out may be in1 or in2. */
TF_MVE_INLINE void tf_mve_add_span(const tf_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out,
                                   int32_t n)
{
    const int32x4_t scale = vdupq_n_s32(1 << p->left_shift);
    /* pointers stepped, not indexed: post-incrementing loads and stores */
    for (; n >= 4; n -= 4, in1 += 4, in2 += 4, out += 4) {
        vstrbq_s32(out, tf_mve_add4(p, vldrbq_s32(in1), vldrbq_s32(in2), scale));
    }
    if (n > 0) {
        const mve_pred16_t m = vctp32q((uint32_t)n);
        vstrbq_p_s32(out, tf_mve_add4(p, vldrbq_z_s32(in1, m), vldrbq_z_s32(in2, m), scale), m);
    }
}

TF_MVE_INLINE void tf_mve_add_s8(const tf_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *out)
{
    tf_mve_add_span(p, in1, in2, out, p->size);
}

#endif
