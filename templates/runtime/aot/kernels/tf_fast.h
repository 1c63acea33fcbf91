/* What the shape-specialised int8 kernels for cores with the DSP extension (SMLAD & co) share: the
 * instructions (and their C models), the requantisation, the convolution parameter block. The kernels
 * are in one header per operator: tf_fast_conv.h, tf_fast_depthwise.h, tf_fast_fc.h (and those of the
 * newer operators, tf_fast_conv16.h, tf_fast_matmul.h, tf_recurrent_simd.h).
 *
 *
 * Every kernel function is always_inline: model.c calls each one from a small per-layer function
 * with a static const parameter block, so GCC propagates the layer's shape (channels, kernel size,
 * strides) as constants, unrolls the tap loops and addresses rows with immediate offsets.
 *
 * The same code compiles for the host with C versions of the few DSP instructions it uses, so the
 * host harness checks this exact arithmetic against TFLite's reference kernels bit for bit.
 *
 * Requantisation (tf_rq_t) is TFLite's MultiplyByQuantizedMultiplier rewritten for cheap
 * instructions; the generator only selects it when its range conditions hold for the layer
 * (quant.py: fast_requant), otherwise it emits the generic kernels of tf_conv.c. */
#ifndef TF_FAST_H
#define TF_FAST_H

#include <stdint.h>
#include <string.h>
#include "tf_kernels.h"

#define TF_ALWAYS_INLINE static inline __attribute__((always_inline))
/* Per-layer functions: kept apart (readable disassembly) and optimised at -O3 whatever the build's
 * level, whose loop transformations take kws from 2.08 to 1.98 instructions per MAC on the M7.
 * Without the scheduling pass before register allocation: it interleaves the independent MAC chains
 * of an unrolled tap loop so eagerly that they no longer fit the 13 registers and spill (measured on
 * the M7: kws 1.99 -> 1.80, vww 1.86 -> 1.72 instructions per MAC). */
#define TF_LAYER_ATTRS __attribute__((noinline, optimize("O3", "no-schedule-insns")))

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
TF_ALWAYS_INLINE uint32_t tf_sxtb16_lo(uint32_t x) { return (uint32_t)__sxtb16(x); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_hi(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));   /* GCC does not fold a ROR into __sxtb16 */
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smlad_(uint32_t a, uint32_t b, int32_t acc) { return __smlad(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smlabb_(uint32_t a, uint32_t b, int32_t acc) { return __smlabb(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smlatt_(uint32_t a, uint32_t b, int32_t acc) { return __smlatt(a, b, acc); }
TF_ALWAYS_INLINE int32_t tf_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_smmla(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TF_ALWAYS_INLINE int32_t tf_ssat8(int32_t x) { return __ssat(x, 8); }
#else
/* C definitions of the same instructions (ARM ARM A7.7: SXTB16, SMLAD, SMLABB/SMLATT, SMMULR, SSAT);
 * little-endian, as the MCUs. */
TF_ALWAYS_INLINE int32_t tf_lo16(uint32_t x) { return (int16_t)(x & 0xffffu); }
TF_ALWAYS_INLINE int32_t tf_hi16(uint32_t x) { return (int16_t)(x >> 16); }
TF_ALWAYS_INLINE uint32_t tf_pack16(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_lo(uint32_t x) { return tf_pack16((int8_t)x, (int8_t)(x >> 16)); }
TF_ALWAYS_INLINE uint32_t tf_sxtb16_hi(uint32_t x) { return tf_pack16((int8_t)(x >> 8), (int8_t)(x >> 24)); }
TF_ALWAYS_INLINE int32_t tf_smlad_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_lo16(a) * tf_lo16(b)) + (uint32_t)(tf_hi16(a) * tf_hi16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smlabb_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_lo16(a) * tf_lo16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smlatt_(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tf_hi16(a) * tf_hi16(b)));
}
TF_ALWAYS_INLINE int32_t tf_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + 0x80000000ll) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_smmlar(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)(((int64_t)a * b + (int64_t)((uint64_t)(uint32_t)acc << 32) + 0x80000000ll) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_smmla(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)(((int64_t)a * b + (int64_t)((uint64_t)(uint32_t)acc << 32)) >> 32);
}
TF_ALWAYS_INLINE int32_t tf_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
#endif

TF_ALWAYS_INLINE uint32_t tf_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

TF_ALWAYS_INLINE void tf_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* Per output channel: out = clamp(((smmulr(acc << left, mult) + round + sign) >> right), lo, hi) with
 * left = TFLite's left shift + 1 and round = 2^(right-1) + output_offset * 2^right. This equals
 * TFLite's rounding doubling high multiply, rounding right shift and output offset when
 * |acc| * 2^left < 2^31 and right >= 1, which the generator proves from the layer's weights. */
typedef struct {
    int32_t mult, left, right, round;
} tf_rq_t;

/* mode 1 (one rounding): the layer's act_min >= output offset, so every r < 0 ends at act_min
 * whatever the sign correction does (both roundings give at most the offset), and the correction
 * can go: SMMLAR adds round inside the multiply, (smmulr(x, m) + round) in one instruction.
 * mode R >= 2 (shared shift): the same, with rows rewritten by quant.shared_shift_requant so every
 * channel shifts right by the layer's constant R, which SSAT applies for free; SMMLA, not SMMLAR,
 * as the rounding offsets are in round. mode 0: TFLite's double rounding, exactly. */
TF_ALWAYS_INLINE int8_t tf_rq(int32_t acc, const tf_rq_t *q, int32_t lo, int32_t hi, int32_t mode)
{
    int32_t r;
    if (mode >= 2) {
        r = tf_smmla((int32_t)((uint32_t)acc << q->left), q->mult, q->round) >> mode;
    } else if (mode == 1) {
        r = tf_smmlar((int32_t)((uint32_t)acc << q->left), q->mult, q->round) >> q->right;
    } else {
        r = tf_smmulr((int32_t)((uint32_t)acc << q->left), q->mult);
        r = (r + (r >> 31) + q->round) >> q->right;
    }
    r = tf_ssat8(r);
    if (lo > -128) {
        r = r < lo ? lo : r;
    }
    if (hi < 127) {
        r = r > hi ? hi : r;
    }
    return (int8_t)r;
}

/* Layer constants of the fast CONV_2D / DEPTHWISE_CONV_2D. kp: filter size k_h*k_w*in_c rounded up
 * to 4, or to 2 for the int16-weight CONV_2D (the weights are zero-padded to it at generation time). */
typedef struct {
    tf_geom_t g;
    int32_t kp, pad_value, act_min, act_max;
    int32_t rq_mode; /* tf_rq: 0 exact, 1 one rounding (act_min >= output offset), >= 2 shared shift */
} tf_fast_conv_t;

#endif
