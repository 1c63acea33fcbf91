/* FULLY_CONNECTED kernels for cores with the DSP extension (the conventions of tf_fast.h). */
#ifndef TF_FAST_FC_H
#define TF_FAST_FC_H

#include "tf_fast.h"

/* FULLY_CONNECTED, per-tensor weights, in_depth a multiple of 4. The input vector is widened once
 * (SXTB16 order) into col, then four weight rows at a time share each pair of column words: per 16
 * MACs one LDRD of the column and, per row, one load, two SXTB16 and two SMLAD. */
typedef struct {
    int32_t batches, in_depth, out_depth, act_min, act_max, rq_mode;
} tf_fast_fc_t;

TF_ALWAYS_INLINE int32_t tf_fc_row(const int8_t *w, const int16_t *col, int32_t n, int32_t acc)
{
#pragma GCC unroll 4
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlad_(tf_sxtb16_lo(v), tf_ld32(col + k), acc);
        acc = tf_smlad_(tf_sxtb16_hi(v), tf_ld32(col + k + 2), acc);
    }
    return acc;
}

TF_ALWAYS_INLINE void tf_fast_fc_s8(const tf_fast_fc_t *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, const tf_rq_t *rq, int16_t *col, int8_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * n;
        int8_t *out = output + b * p->out_depth;
        for (int32_t k = 0; k < n; k += 4) {
            const uint32_t v = tf_ld32(in + k);
            tf_st32(col + k, tf_sxtb16_lo(v));
            tf_st32(col + k + 2, tf_sxtb16_hi(v));
        }
        int32_t o = 0;
        for (; o + 4 <= p->out_depth; o += 4) {
            const int8_t *w = weights + o * n;
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
#pragma GCC unroll 2
            for (int32_t k = 0; k < n; k += 4) {
                const uint32_t x0 = tf_ld32(col + k), x1 = tf_ld32(col + k + 2);
                uint32_t v = tf_ld32(w + k);
                a0 = tf_smlad_(tf_sxtb16_lo(v), x0, a0);
                a0 = tf_smlad_(tf_sxtb16_hi(v), x1, a0);
                v = tf_ld32(w + n + k);
                a1 = tf_smlad_(tf_sxtb16_lo(v), x0, a1);
                a1 = tf_smlad_(tf_sxtb16_hi(v), x1, a1);
                v = tf_ld32(w + 2 * n + k);
                a2 = tf_smlad_(tf_sxtb16_lo(v), x0, a2);
                a2 = tf_smlad_(tf_sxtb16_hi(v), x1, a2);
                v = tf_ld32(w + 3 * n + k);
                a3 = tf_smlad_(tf_sxtb16_lo(v), x0, a3);
                a3 = tf_smlad_(tf_sxtb16_hi(v), x1, a3);
            }
            out[o] = tf_rq(a0, &rq[o], p->act_min, p->act_max, p->rq_mode);
            out[o + 1] = tf_rq(a1, &rq[o + 1], p->act_min, p->act_max, p->rq_mode);
            out[o + 2] = tf_rq(a2, &rq[o + 2], p->act_min, p->act_max, p->rq_mode);
            out[o + 3] = tf_rq(a3, &rq[o + 3], p->act_min, p->act_max, p->rq_mode);
        }
        for (; o < p->out_depth; ++o) {
            out[o] = tf_rq(tf_fc_row(weights + o * n, col, n, bias[o]), &rq[o], p->act_min, p->act_max,
                           p->rq_mode);
        }
    }
}

/* FULLY_CONNECTED over weights widened to int16 at generation time (fully_connected.py: widened_weights),
 * where the board's flash has room for them. Batch 1 reuses no weight, so the cost is loads: here one
 * LDM brings four rows' weight pairs, and one LDRD the two input words they share. Per 16 MACs (four
 * rows x four depths): LDRD, 2 LDM, 8 SMLAD = 11 instructions, no widening in the loop.
 * Weights: rows padded to a multiple of 4, depth to kp (a multiple of 4); per block of four rows and
 * per four depths k..k+3 eight words, (k, k+2) of rows 0..3 then (k+1, k+3) of rows 0..3, the pairs
 * SXTB16 makes of an input word (col). Weights and bias come pre-shifted by tf_rq's left shift where
 * that fits int16 (fully_connected.py: fold_left_shift), so the row's left is 0. bias: padded to the
 * rows too. rq_shared: one tf_rq_t row for every output (per-tensor weights with no constant row), its
 * fields constants GCC folds. Measured on ad (M7 and M4): 0.75 instructions per MAC, 1.56 before. */
typedef struct {
    int32_t batches, in_depth, kp, out_depth, act_min, act_max, rq_mode, rq_shared;
} tf_fast_fc_w16_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* One step of four rows by four depths. In asm, as GCC turns neither loads into an LDM nor keeps the
 * loaded words in place: the register list of LDM is in ascending order, so the four weight words go
 * to r8..r11 by name (clobbered), and the post-increments walk both streams. */
#define TF_FC_W16_STEP(w, c, a0, a1, a2, a3)                                                          \
    do {                                                                                              \
        uint32_t x0_, x1_;                                                                            \
        __asm__("ldrd    %[x0], %[x1], [%[c]], #8\n\t"                                                \
                "ldmia   %[w]!, {r8, r9, r10, r11}\n\t"                                               \
                "smlad   %[a0], r8, %[x0], %[a0]\n\t"                                                 \
                "smlad   %[a1], r9, %[x0], %[a1]\n\t"                                                 \
                "smlad   %[a2], r10, %[x0], %[a2]\n\t"                                                \
                "smlad   %[a3], r11, %[x0], %[a3]\n\t"                                                \
                "ldmia   %[w]!, {r8, r9, r10, r11}\n\t"                                               \
                "smlad   %[a0], r8, %[x1], %[a0]\n\t"                                                 \
                "smlad   %[a1], r9, %[x1], %[a1]\n\t"                                                 \
                "smlad   %[a2], r10, %[x1], %[a2]\n\t"                                                \
                "smlad   %[a3], r11, %[x1], %[a3]"                                                    \
                : [x0] "=&r"(x0_), [x1] "=&r"(x1_), [w] "+r"(w), [c] "+r"(c),                          \
                  [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)                          \
                : "m"(*(const uint32_t(*)[8])(w)), "m"(*(const uint32_t(*)[2])(c))                    \
                : "r8", "r9", "r10", "r11");                                                          \
    } while (0)
#else
#define TF_FC_W16_STEP(w, c, a0, a1, a2, a3)                                                          \
    do {                                                                                              \
        const uint32_t x0_ = (c)[0], x1_ = (c)[1];                                                    \
        a0 = tf_smlad_((w)[0], x0_, a0);                                                              \
        a1 = tf_smlad_((w)[1], x0_, a1);                                                              \
        a2 = tf_smlad_((w)[2], x0_, a2);                                                              \
        a3 = tf_smlad_((w)[3], x0_, a3);                                                              \
        a0 = tf_smlad_((w)[4], x1_, a0);                                                              \
        a1 = tf_smlad_((w)[5], x1_, a1);                                                              \
        a2 = tf_smlad_((w)[6], x1_, a2);                                                              \
        a3 = tf_smlad_((w)[7], x1_, a3);                                                              \
        (w) += 8;                                                                                     \
        (c) += 2;                                                                                     \
    } while (0)
#endif

/* One or two rows (a block padded with zero rows: vww's 256 -> 2 classifier): the input's words widened
 * where they are read, with no column buffer, and only the two real rows' weights loaded. Per four
 * depths: LDR, 2 SXTB16, 2 LDRD, 4 SMLAD = 9 instructions for 8 MACs, where the column pass and the
 * four-row step took 20. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TF_FC_W16_STEP2(w, in, a0, a1)                                                                \
    do {                                                                                              \
        uint32_t x_, x0_, x1_, u_, v_;                                                                \
        __asm__("ldr     %[x], [%[in]], #4\n\t"                                                        \
                "sxtb16  %[x1], %[x], ror #8\n\t"                                                      \
                "ldrd    %[u], %[v], [%[w], #16]\n\t"                                                 \
                "sxtb16  %[x0], %[x]\n\t"                                                              \
                "smlad   %[a0], %[u], %[x1], %[a0]\n\t"                                                \
                "smlad   %[a1], %[v], %[x1], %[a1]\n\t"                                                \
                "ldrd    %[u], %[v], [%[w]], #32\n\t"                                                 \
                "smlad   %[a0], %[u], %[x0], %[a0]\n\t"                                                \
                "smlad   %[a1], %[v], %[x0], %[a1]"                                                    \
                : [x] "=&r"(x_), [x0] "=&r"(x0_), [x1] "=&r"(x1_), [u] "=&r"(u_), [v] "=&r"(v_),          \
                  [w] "+r"(w), [in] "+r"(in), [a0] "+r"(a0), [a1] "+r"(a1)                            \
                : "m"(*(const uint32_t(*)[8])(w)), "m"(*(const uint32_t(*)[1])(in)));                 \
    } while (0)
#else
#define TF_FC_W16_STEP2(w, in, a0, a1)                                                                \
    do {                                                                                              \
        const uint32_t x_ = tf_ld32(in), x0_ = tf_sxtb16_lo(x_), x1_ = tf_sxtb16_hi(x_);                \
        a0 = tf_smlad_((w)[0], x0_, a0);                                                              \
        a1 = tf_smlad_((w)[1], x0_, a1);                                                              \
        a0 = tf_smlad_((w)[4], x1_, a0);                                                              \
        a1 = tf_smlad_((w)[5], x1_, a1);                                                              \
        (w) += 8;                                                                                     \
        (in) += 4;                                                                                    \
    } while (0)
#endif

/* The first two rows of a block (the others are zero padding), from the int8 input: in_depth a
 * multiple of 4. */
TF_ALWAYS_INLINE void tf_fc_w16_pair(const tf_fast_fc_w16_t *p, const uint32_t *w, const int8_t *in,
                                     const int32_t *bias, int32_t acc[2])
{
    int32_t a0 = bias[0], a1 = bias[1];
#pragma GCC unroll 32
    for (int32_t k = 0; k < p->kp; k += 4) {
        TF_FC_W16_STEP2(w, in, a0, a1);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Four rows' dot products with the widened input; *w moves on to the next block of rows. */
TF_ALWAYS_INLINE void tf_fc_w16_block(const tf_fast_fc_w16_t *p, const uint32_t **wp, const uint32_t *col,
                                      const int32_t *bias, int32_t acc[4])
{
    const uint32_t *w = *wp, *c = col;
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    /* 32 steps: a depth of 128 has no loop left, so no counter, which would go to the stack (the
     * step's registers, four accumulators and the two pointers leave none for it) */
#pragma GCC unroll 32
    for (int32_t k = 0; k < p->kp; k += 4) {
        TF_FC_W16_STEP(w, c, a0, a1, a2, a3);
    }
    *wp = w;
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

TF_ALWAYS_INLINE void tf_fast_fc_w16_s8(const tf_fast_fc_w16_t *p, const int8_t *input, const uint32_t *weights,
                                        const int32_t *bias, const tf_rq_t *rq, uint32_t *col, int8_t *output)
{
    const int32_t n = p->in_depth, full = n & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * n;
        int8_t *out = output + b * p->out_depth;
        if (p->out_depth <= 2 && n == p->kp) {
            int32_t acc[2];
            tf_fc_w16_pair(p, weights, in, bias, acc);
            for (int32_t j = 0; j < p->out_depth; ++j) {
                out[j] = tf_rq(acc[j], p->rq_shared ? rq : &rq[j], p->act_min, p->act_max, p->rq_mode);
            }
            continue;
        }
        /* the input widened once, in SXTB16 pairs; a depth that is not a multiple of 4 ends in zeros
         * (its weights are zero there too) */
        for (int32_t k = 0; k < full; k += 4) {
            const uint32_t v = tf_ld32(in + k);
            col[k / 2] = tf_sxtb16_lo(v);
            col[k / 2 + 1] = tf_sxtb16_hi(v);
        }
        if (n & 3) {
            uint32_t v = 0;
            for (int32_t j = 0; j < (n & 3); ++j) {
                v |= (uint32_t)(uint8_t)in[full + j] << (8 * j);
            }
            col[full / 2] = tf_sxtb16_lo(v);
            col[full / 2 + 1] = tf_sxtb16_hi(v);
        }
        const uint32_t *w = weights;
        int32_t o = 0;
        for (; o + 4 <= p->out_depth; o += 4) {
            int32_t acc[4];
            tf_fc_w16_block(p, &w, col, bias + o, acc);
            /* the shared row's multiplier and rounding put in registers here, after the MAC loop: held
             * across it (GCC hoists them out of both loops) they push its counter onto the stack */
            tf_rq_t q = rq[0];
            if (p->rq_shared) {
                __asm__ volatile("" : "+r"(q.mult), "+r"(q.round));
            }
            for (int32_t j = 0; j < 4; ++j) {
                out[o + j] = tf_rq(acc[j], p->rq_shared ? &q : &rq[o + j], p->act_min, p->act_max, p->rq_mode);
            }
        }
        if (o < p->out_depth) {             /* 1-3 rows left: their block is padded with zero rows */
            int32_t acc[4];
            tf_fc_w16_block(p, &w, col, bias + o, acc);
            for (int32_t j = 0; j < p->out_depth - o; ++j) {
                out[o + j] = tf_rq(acc[j], p->rq_shared ? rq : &rq[o + j], p->act_min, p->act_max, p->rq_mode);
            }
        }
    }
}

#endif
