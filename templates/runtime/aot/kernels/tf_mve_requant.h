/* Shape-specialised int8 kernels for cores with Helium (M-profile Vector Extension, integer), e.g.
 * the Cortex-M55, one header per operator (tf_mve_conv.h, tf_mve_depthwise.h, tf_mve_add.h,
 * tf_mve_pool.h) over this one, which holds what they share: the layer record, the requantisation
 * and narrowing of accumulators, and the stores.
 * - CONV_2D and FULLY_CONNECTED: 16-lane int8 dot products (VMLADAVA.S8), two pixels by four
 *   output channels per four weight loads, the column an int8 im2col, for 1x1 filters without
 *   padding the input itself, for shallow filters a column-major band of the input rows;
 * - DEPTHWISE_CONV_2D: 8 channels in 16-bit lanes multiplied into 32-bit products (VMULLB/T.S16;
 *   MVE has no vector-by-vector integer multiply-accumulate), two output pixels per weight load;
 * - ADD and AVERAGE_POOL_2D: 4 elements per vector (ADD's three rescalings), vector window sums;
 * - per-channel requantisation four lanes at a time, eight channels narrowed and stored together
 *   (this header).
 *
 * As in tf_fast.h, every function is always_inline and model.c calls it from a small per-layer
 * function with a static const parameter block, so GCC specialises it for the layer's shape. The
 * innermost loops are short inline-assembly statements: GCC 12 otherwise loses much of the work to
 * moves and spills (each is commented where it appears).
 *
 * Arithmetic contract (tf_kernels.h): int32 accumulators start from the folded bias
 * b - input_zp * sum(w); padded taps read pad_value = input_zp. Requantisation equals TFLite's
 * MultiplyByQuantizedMultiplier, output offset and clamp for every multiplier and shift (see
 * tf_mve_requant and tf_mve_narrow8 for the argument and its one overflow corner), so this path
 * needs no range proof. There is no host build of these kernels (arm_mve.h is Arm-only): they are
 * verified on an emulated Cortex-M55 (QEMU mps3-an547) against the TFLM golden
 * (tests/integration/test_mve_bench.py), and their arithmetic is modelled instruction by
 * instruction in tests/unit/test_mve_generation.py. */
#ifndef TF_MVE_REQUANT_H
#define TF_MVE_REQUANT_H

#include <stdint.h>
#include "tf_kernels.h"

#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1))
#error "tf_mve_*.h need Helium (MVE integer); the generator only selects it for cores that have it"
#endif
#include <arm_mve.h>

#define TF_MVE_INLINE static inline __attribute__((always_inline))
/* Per-layer functions: kept apart (readable disassembly) and optimised at -O3 whatever the build's
 * level, as tf_fast.h's TF_LAYER_ATTRS (a separate name so both headers can be included). */
#define TF_MVE_LAYER_ATTRS __attribute__((noinline, optimize("O3")))

/* Layer constants. CONV_2D / FULLY_CONNECTED: k is the filter size k_h * k_w * in_c, processed in
 * ceil(k / 16) chunks of 16 bytes; direct: a 1x1 filter without padding, whose column is the input
 * pixel itself (read in place, no im2col), or TF_MVE_CONV_BAND: a shallow filter whose columns are
 * read in place from a band of strip_w input columns (tf_mve_conv.h). DEPTHWISE_CONV_2D: the
 * scratch strip keeps strip_rows padded input rows of strip_w pixels. */
typedef struct {
    tf_geom_t g;
    int32_t k, direct, strip_w, strip_rows;
    int32_t pad_value, output_offset, act_min, act_max;
    int32_t left_shift;    /* some channel shifts left: the VSHL is needed */
    int32_t rounding;      /* TF_MVE_ROUND_*: what makes VRSHL's ties TFLite's (tf_mve_requant) */
    int32_t per_tensor;    /* one multiplier and shift for all channels: the records hold biases only */
    int32_t mult, left, right;   /* per_tensor: TFLite's multiplier, max(shift, 0), min(shift, 0) */
} tf_mve_conv_t;

/* Requantisation records, one per four accumulator lanes (ops/mve_requant.py: lane_order): int32
 * bias[4], then, unless the layer is per_tensor, mult[4], left[4] and right[4] as above, per lane, so
 * that each is one vector load. TF_MVE_RQ(p, q, i): the i-th record after q. */
#define TF_MVE_RQ(p, q, i) ((q) + (i) * ((p)->per_tensor ? 4 : 16))
#define TF_MVE_CONV_BAND 2    /* tf_mve_conv_t.direct: columns read from a column-major band */

#define TF_MVE_RQ_MULT 1
#define TF_MVE_RQ_LEFT 2
#define TF_MVE_RQ_RIGHT 3

#define TF_MVE_ROUND_UP 0      /* nothing: act_min >= output_offset */
#define TF_MVE_ROUND_SIGN 1    /* subtract the sign: every channel shifts right */
#define TF_MVE_ROUND_MASKED 2  /* subtract the sign where the channel shifts right */

/* Four int32 lanes from four general registers in two instructions (VMOV Q[2],Q[0],Rt,Rt2 has no
 * intrinsic; vsetq_lane takes four). */
TF_MVE_INLINE int32x4_t tf_mve_pack4(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\tvmov %q0[3], %q0[1], %3, %4"
            : "=&w"(v) : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}

/* A vector load that GCC may neither hoist out of a loop nor merge with another: it otherwise hoists
 * the records and biases out of pixel loops (the depthwise one; a convolution's whose channel loop
 * it unrolled) and, short of vector registers, spills them (two instructions per use instead of one
 * load). */
TF_MVE_INLINE int32x4_t tf_mve_ldq(const int32_t *p)
{
    int32x4_t v;
    __asm__ volatile("vldrw.32 %q0, [%1]" : "=w"(v) : "r"(p), "m"(*(const int32_t(*)[4])p));
    return v;
}

/* tf_mve_ldq of p + words, words a constant: the offset goes into the load (tf_mve_ldq's register
 * address costs an add per load). */
#define TF_MVE_LDQ_AT(p, words)                                                                     \
    __extension__({                                                                                 \
        int32x4_t v_;                                                                               \
        __asm__ volatile("vldrw.32 %q0, [%1, #%c2]"                                                  \
                         : "=w"(v_) : "r"(p), "i"(4 * (words)), "m"(*(const int32_t(*)[4])((p) + (words)))); \
        v_;                                                                                         \
    })

/* Field 'field' (TF_MVE_RQ_*) of the record 'rec' records after q (rec, field constants), or the
 * layer's value for a per-tensor layer. */
#define TF_MVE_RQ_AT(p, q, rec, field)                                                              \
    ((p)->per_tensor ? vdupq_n_s32((field) == TF_MVE_RQ_MULT ? (p)->mult                            \
                                   : (field) == TF_MVE_RQ_LEFT ? (p)->left : (p)->right)            \
                     : TF_MVE_LDQ_AT(q, 16 * (rec) + 4 * (field)))

/* A record's multipliers or shifts (TF_MVE_RQ_*), or the layer's for a per-tensor layer. */
TF_MVE_INLINE int32x4_t tf_mve_rq(const tf_mve_conv_t *p, const int32_t *q, int field)
{
    if (p->per_tensor) {
        return vdupq_n_s32(field == TF_MVE_RQ_MULT ? p->mult : field == TF_MVE_RQ_LEFT ? p->left : p->right);
    }
    return tf_mve_ldq(q + 4 * field);
}

/* TFLite's MultiplyByQuantizedMultiplier, per lane:
 * - VSHL by a positive lane shift is TFLite's acc * 2^left (wrapping, as tf_requantize).
 * - VQRDMULH is SaturatingRoundingDoublingHighMul: both give floor((a*b + 2^30) / 2^31), saturated
 *   only for INT32_MIN * INT32_MIN (gemmlowp's nudge 1 - 2^30 with truncating division for negative
 *   products is the same floor).
 * - RoundingDivideByPOT rounds halves away from zero; VRSHL by -n rounds them up. Subtracting 1
 *   from negative values first turns one into the other: floor((x - 1 + 2^(n-1)) / 2^n). The -1 is
 *   the lane's sign bit (TF_MVE_ROUND_SIGN), masked by the sign bit of -n where n may be 0
 *   (TF_MVE_ROUND_MASKED); VQADD keeps INT32_MIN, whose result is the same either way. The two
 *   roundings differ only for negative x, whose result is <= 0 both ways; when act_min >=
 *   output_offset every such result clamps to act_min, so the layer needs no fix
 *   (TF_MVE_ROUND_UP). */
TF_MVE_INLINE int32x4_t tf_mve_requant_v(const tf_mve_conv_t *p, int32x4_t acc, int32x4_t mult, int32x4_t right,
                                         int32x4_t left)
{
    if (p->left_shift) {
        acc = vshlq_s32(acc, left);
    }
    int32x4_t r = vqrdmulhq_s32(acc, mult);
    if (p->rounding == TF_MVE_ROUND_SIGN) {
        r = vqaddq_s32(r, vshrq_n_s32(r, 31));
    } else if (p->rounding == TF_MVE_ROUND_MASKED) {
        r = vqaddq_s32(r, vshrq_n_s32(vandq_s32(r, right), 31));
    }
    return vrshlq_s32(r, right);
}

TF_MVE_INLINE int32x4_t tf_mve_requant(const tf_mve_conv_t *p, int32x4_t acc, const int32_t *q)
{
    return tf_mve_requant_v(p, acc, tf_mve_rq(p, q, TF_MVE_RQ_MULT), tf_mve_rq(p, q, TF_MVE_RQ_RIGHT),
                            p->left_shift ? tf_mve_rq(p, q, TF_MVE_RQ_LEFT) : acc);
}

/* Eight requantised channels of one pixel, 'even' holding the group's channels 0, 2, 4, 6 and 'odd'
 * 1, 3, 5, 7: narrowed with saturation into 16-bit lanes in channel order, offset (saturating),
 * narrowed with saturation into the even bytes, and clamped where the activation is narrower than
 * int8, each step once for all eight. The saturations cannot change a result: a value beyond a
 * narrower type clamps to the same activation bound either way. (TFLite adds the offset in int32,
 * wrapping; the two differ only if |requantised value| > 2^31 - 129, i.e. |acc * 2^left| within
 * 2^8 of 2^31 and a multiplier within 2^8 of 2^31.) tf_mve_store8 stores the even bytes. */
TF_MVE_INLINE int16x8_t tf_mve_narrow8(const tf_mve_conv_t *p, int32x4_t even, int32x4_t odd)
{
    /* In place (Qd = Qm: each narrowed lane stays within its source lane); GCC's intrinsics
     * copy the dead source to a fresh register first. */
    if (p->output_offset) {
        __asm__("vqmovnb.s32 %q[v], %q[v]\n\t"
                "vqmovnt.s32 %q[v], %q[o]\n\t"
                "vqadd.s16 %q[v], %q[v], %[z]\n\t"
                "vqmovnb.s16 %q[v], %q[v]"
                : [v] "+w"(even) : [o] "w"(odd), [z] "r"(p->output_offset));
    } else {
        __asm__("vqmovnb.s32 %q[v], %q[v]\n\t"
                "vqmovnt.s32 %q[v], %q[o]\n\t"
                "vqmovnb.s16 %q[v], %q[v]"
                : [v] "+w"(even) : [o] "w"(odd));
    }
    int8x16_t b = vreinterpretq_s8_s32(even);
    if (p->act_min > -128) {
        b = vmaxq_s8(b, vdupq_n_s8((int8_t)p->act_min));
    }
    if (p->act_max < 127) {
        b = vminq_s8(b, vdupq_n_s8((int8_t)p->act_max));
    }
    return vreinterpretq_s16_s8(b);
}

/* tf_mve_narrow8 of the accumulators of record q (even channels) and the next (odd). */
TF_MVE_INLINE int16x8_t tf_mve_finish8(const tf_mve_conv_t *p, int32x4_t even, int32x4_t odd, const int32_t *q)
{
    return tf_mve_narrow8(p, tf_mve_requant(p, even, q), tf_mve_requant(p, odd, TF_MVE_RQ(p, q, 1)));
}

/* tf_mve_requant of two pixels' accumulators of the record rec (0 or 1) after q, in place. */
TF_MVE_INLINE void tf_mve_requant2(const tf_mve_conv_t *p, int32x4_t *x, int32x4_t *y, const int32_t *q, int rec)
{
    int32x4_t m, r, l;
    if (rec) {
        m = TF_MVE_RQ_AT(p, q, 1, TF_MVE_RQ_MULT);
        r = TF_MVE_RQ_AT(p, q, 1, TF_MVE_RQ_RIGHT);
        l = p->left_shift ? TF_MVE_RQ_AT(p, q, 1, TF_MVE_RQ_LEFT) : m;
    } else {
        m = TF_MVE_RQ_AT(p, q, 0, TF_MVE_RQ_MULT);
        r = TF_MVE_RQ_AT(p, q, 0, TF_MVE_RQ_RIGHT);
        l = p->left_shift ? TF_MVE_RQ_AT(p, q, 0, TF_MVE_RQ_LEFT) : m;
    }
    *x = tf_mve_requant_v(p, *x, m, r, l);
    *y = tf_mve_requant_v(p, *y, m, r, l);
}

/* Stores the low bytes of eight 16-bit lanes; a last group of fewer channels stores only its valid
 * lanes. */
TF_MVE_INLINE void tf_mve_store8(int8_t *out, int16x8_t v, int32_t remaining)
{
    if (remaining >= 8) {
        vstrbq_s16(out, v);
    } else {
        vstrbq_p_s16(out, v, vctp16q((uint32_t)remaining));
    }
}

TF_MVE_INLINE void tf_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vstrbq_s8(dst + i, vldrbq_s8(src + i));
    }
    if (i < n) {
        const mve_pred16_t m = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, m), m);
    }
}

TF_MVE_INLINE void tf_mve_fill(int8_t *dst, int8x16_t v, int32_t n)
{
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vstrbq_s8(dst + i, v);
    }
    if (i < n) {
        vstrbq_p_s8(dst + i, v, vctp8q((uint32_t)(n - i)));
    }
}

#endif
