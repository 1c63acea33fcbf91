/* SIMD (DSP extension) kernels of FULLY_CONNECTED 16x8, TRANSPOSE_CONV and BATCH_MATMUL, in tf_fast.h's
 * style: always-inline bodies called from per-layer functions with constant parameter blocks, and on
 * the host tf_fast.h's C models of the instructions, plus SMLALD's here, so the host harness checks
 * this arithmetic against TFLM bit for bit.
 *
 * Weights in "pair order": each group of four int8 weights k..k+3 is stored k, k+2, k+1, k+3 (the
 * generator permutes them), so SXTB16 and SXTB16 ROR 8 of one word give the int16 pairs (k, k+1) and
 * (k+2, k+3), which line up with two words of an int16 vector in natural order: one weight load feeds
 * two SMLAD (or SMLALD) against two plain loads of the activations. */
#ifndef TF_FAST_MATMUL_H
#define TF_FAST_MATMUL_H

#include <stdint.h>
#include "tf_fast.h"
#include "tf_fc16.h"
#include "tf_transpose_conv.h"
#include "tf_batch_matmul.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc) { return __smlald(a, b, acc); }
#else
/* ARM ARM A7.7 SMLALD: both halfword products added to a 64-bit accumulator */
TF_ALWAYS_INLINE int64_t tf_smlald_(uint32_t a, uint32_t b, int64_t acc)
{
    return acc + (int64_t)(tf_lo16(a) * tf_lo16(b)) + (int64_t)(tf_hi16(a) * tf_hi16(b));
}
#endif

/* ---- Dot products of int16 activations x[n] (natural order) with one or two rows of pair-order int8
 * weights, n a multiple of 4, into int32 (SMLAD) or int64 (SMLALD) accumulators. */
TF_ALWAYS_INLINE int32_t tf_mm1_s32(const int16_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlad_(tf_sxtb16_lo(v), tf_ld32(x + k), acc);
        acc = tf_smlad_(tf_sxtb16_hi(v), tf_ld32(x + k + 2), acc);
    }
    return acc;
}

TF_ALWAYS_INLINE int64_t tf_mm1_s64(const int16_t *x, const int8_t *w, int32_t n, int64_t acc)
{
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t v = tf_ld32(w + k);
        acc = tf_smlald_(tf_sxtb16_lo(v), tf_ld32(x + k), acc);
        acc = tf_smlald_(tf_sxtb16_hi(v), tf_ld32(x + k + 2), acc);
    }
    return acc;
}

/* two rows share each pair of activation words: per 8 MACs two activation loads, two weight loads,
 * four SXTB16, four SMLAD */
TF_ALWAYS_INLINE void tf_mm2_s32(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
#pragma GCC unroll 2
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t x01 = tf_ld32(x + k), x23 = tf_ld32(x + k + 2);
        uint32_t v = tf_ld32(w0 + k);
        a0 = tf_smlad_(tf_sxtb16_lo(v), x01, a0);
        a0 = tf_smlad_(tf_sxtb16_hi(v), x23, a0);
        v = tf_ld32(w1 + k);
        a1 = tf_smlad_(tf_sxtb16_lo(v), x01, a1);
        a1 = tf_smlad_(tf_sxtb16_hi(v), x23, a1);
    }
    acc[0] = a0, acc[1] = a1;
}

TF_ALWAYS_INLINE void tf_mm2_s64(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int64_t acc[2])
{
    int64_t a0 = acc[0], a1 = acc[1];
#pragma GCC unroll 2
    for (int32_t k = 0; k < n; k += 4) {
        const uint32_t x01 = tf_ld32(x + k), x23 = tf_ld32(x + k + 2);
        uint32_t v = tf_ld32(w0 + k);
        a0 = tf_smlald_(tf_sxtb16_lo(v), x01, a0);
        a0 = tf_smlald_(tf_sxtb16_hi(v), x23, a0);
        v = tf_ld32(w1 + k);
        a1 = tf_smlald_(tf_sxtb16_lo(v), x01, a1);
        a1 = tf_smlald_(tf_sxtb16_hi(v), x23, a1);
    }
    acc[0] = a0, acc[1] = a1;
}

/* ---- FULLY_CONNECTED int16 x int8, in_depth a multiple of 4, weights in pair order, two units per pass. */
TF_ALWAYS_INLINE void tf_fast_fc_s16(const tf_fc16_params_t *p, const int16_t *input, const int8_t *weights,
                                     const int64_t *bias, const int32_t *mult, const int32_t *shift,
                                     int16_t *output)
{
    const int32_t n = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * n;
        int16_t *out = output + b * p->out_depth;
        int32_t o = 0;
        for (; o + 2 <= p->out_depth; o += 2) {
            int64_t acc[2] = {bias[o], bias[o + 1]};
            tf_mm2_s64(in, weights + o * n, weights + (o + 1) * n, n, acc);
            for (int32_t j = 0; j < 2; ++j) {
                out[o + j] = tf_fc16_finish(acc[j], mult[o + j], shift[o + j], p->output_offset, p->act_min,
                                            p->act_max, p->acc32);
            }
        }
        if (o < p->out_depth) {
            out[o] = tf_fc16_finish(tf_mm1_s64(in, weights + o * n, n, bias[o]), mult[o], shift[o],
                                    p->output_offset, p->act_min, p->act_max, p->acc32);
        }
    }
}

/* ---- TRANSPOSE_CONV. Weights [out_c][k_h][k_w][icp] in pair order, icp = in_c rounded up to 4 (zero
 * weights pad it). The int8 kernel first widens the batch's input to int16 with the input offset
 * added, icp values per pixel (zeros pad), into col; the int16 one (in_c a multiple of 4) reads its
 * input in place. Per output pixel the taps that reach it are listed once, then two output channels
 * per pass run over them. */
typedef struct {
    tf_tconv_params_t t;
    int32_t icp;
} tf_fast_tconv_t;

/* the taps reaching output (oy, ox): offsets of their input pixel (in int16 values) and of their weights */
TF_ALWAYS_INLINE int32_t tf_tconv_taps(const tf_geom_t *g, int32_t oy, int32_t ox, int32_t icp, int32_t *x_off,
                                       int32_t *w_off)
{
    int32_t n = 0;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = tf_tconv_source(oy, g->pad_h, ky, g->stride_h, g->in_h);
        if (iy < 0) {
            continue;
        }
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = tf_tconv_source(ox, g->pad_w, kx, g->stride_w, g->in_w);
            if (ix < 0) {
                continue;
            }
            x_off[n] = (iy * g->in_w + ix) * icp;
            w_off[n] = (ky * g->k_w + kx) * icp;
            ++n;
        }
    }
    return n;
}

TF_ALWAYS_INLINE void tf_fast_tconv_s8(const tf_fast_tconv_t *p, const int8_t *input, const int8_t *weights,
                                       const int32_t *bias, const int32_t *mult, const int32_t *shift, int16_t *col,
                                       int8_t *output)
{
    const tf_geom_t *g = &p->t.g;
    const int32_t ic = g->in_c, icp = p->icp, filter = g->k_h * g->k_w * icp, pixels = g->in_h * g->in_w;
    int32_t x_off[g->k_h * g->k_w], w_off[g->k_h * g->k_w];
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * pixels * ic;
        for (int32_t px = 0; px < pixels; ++px) {
            for (int32_t c = 0; c < icp; ++c) {
                col[px * icp + c] = (int16_t)(c < ic ? in_b[px * ic + c] + p->t.input_offset : 0);
            }
        }
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int8_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                const int32_t taps = tf_tconv_taps(g, oy, ox, icp, x_off, w_off);
                int32_t o = 0;
                for (; o + 2 <= g->out_c; o += 2) {
                    int32_t acc[2] = {bias[o], bias[o + 1]};
                    const int8_t *w0 = weights + o * filter;
                    for (int32_t t = 0; t < taps; ++t) {
                        tf_mm2_s32(col + x_off[t], w0 + w_off[t], w0 + filter + w_off[t], icp, acc);
                    }
                    for (int32_t j = 0; j < 2; ++j) {
                        out[o + j] = tf_clamp_s8(tf_requantize(acc[j], mult[o + j], shift[o + j]) + p->t.output_offset,
                                                 p->t.act_min, p->t.act_max);
                    }
                }
                if (o < g->out_c) {
                    int32_t acc = bias[o];
                    for (int32_t t = 0; t < taps; ++t) {
                        acc = tf_mm1_s32(col + x_off[t], weights + o * filter + w_off[t], icp, acc);
                    }
                    out[o] = tf_clamp_s8(tf_requantize(acc, mult[o], shift[o]) + p->t.output_offset, p->t.act_min,
                                         p->t.act_max);
                }
            }
        }
    }
}

TF_ALWAYS_INLINE void tf_fast_tconv_s16(const tf_fast_tconv_t *p, const int16_t *input, const int8_t *weights,
                                        const int64_t *bias, const int32_t *mult, const int32_t *shift,
                                        int16_t *output)
{
    const tf_geom_t *g = &p->t.g;
    const int32_t icp = p->icp, filter = g->k_h * g->k_w * icp;
    int32_t x_off[g->k_h * g->k_w], w_off[g->k_h * g->k_w];
    for (int32_t b = 0; b < g->batches; ++b) {
        const int16_t *in_b = input + b * g->in_h * g->in_w * icp;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox) {
                int16_t *out = output + ((b * g->out_h + oy) * g->out_w + ox) * g->out_c;
                const int32_t taps = tf_tconv_taps(g, oy, ox, icp, x_off, w_off);
                int32_t o = 0;
                for (; o + 2 <= g->out_c; o += 2) {
                    int64_t acc[2] = {bias[o], bias[o + 1]};
                    const int8_t *w0 = weights + o * filter;
                    for (int32_t t = 0; t < taps; ++t) {
                        tf_mm2_s64(in_b + x_off[t], w0 + w_off[t], w0 + filter + w_off[t], icp, acc);
                    }
                    for (int32_t j = 0; j < 2; ++j) {
                        out[o + j] = tf_clamp_s16(tf_requantize_s64(acc[j], mult[o + j], shift[o + j]), p->t.act_min,
                                                  p->t.act_max);
                    }
                }
                if (o < g->out_c) {
                    int64_t acc = bias[o];
                    for (int32_t t = 0; t < taps; ++t) {
                        acc = tf_mm1_s64(in_b + x_off[t], weights + o * filter + w_off[t], icp, acc);
                    }
                    out[o] = tf_clamp_s16(tf_requantize_s64(acc, mult[o], shift[o]), p->t.act_min, p->t.act_max);
                }
            }
        }
    }
}

/* ---- BATCH_MATMUL. Both operands as int16 rows of kp values (depth rounded up to 2, zeros pad): L as
 * [rows][kp], R transposed as [cols][kp], int8 values with their offset added. An activation operand is
 * packed into the scratch buffer per batch (L first, R after it); a constant one comes packed from the
 * generator (packed = 1, its batch strides then count packed values). Then 2 x 2 output blocks: per
 * 8 MACs four loads and four SMLAD (int8) or SMLALD (int16). */
typedef struct {
    tf_bmm_params_t m;
    int32_t kp, lhs_packed, rhs_packed, wide;
} tf_fast_bmm_t;

TF_ALWAYS_INLINE void tf_bmm_pack(const void *src, int32_t wide, int32_t n, int32_t row, int32_t step, int32_t depth,
                                  int32_t kp, int32_t offset, int16_t *dst)
{
    for (int32_t r = 0; r < n; ++r, dst += kp) {
        for (int32_t k = 0; k < depth; ++k) {
            const int32_t at = r * row + k * step;
            dst[k] = (int16_t)(wide ? ((const int16_t *)src)[at] : ((const int8_t *)src)[at] + offset);
        }
        for (int32_t k = depth; k < kp; ++k) {
            dst[k] = 0;
        }
    }
}

TF_ALWAYS_INLINE void tf_bmm_store(const tf_fast_bmm_t *p, int64_t acc, void *output, int32_t at)
{
    const tf_bmm_params_t *m = &p->m;
    if (p->wide) {
        ((int16_t *)output)[at] = tf_clamp_s16(tf_requantize_s64(acc, m->multiplier, m->shift) + m->output_offset,
                                               m->act_min, m->act_max);
    } else {
        ((int8_t *)output)[at] = tf_clamp_s8(tf_requantize((int32_t)acc, m->multiplier, m->shift) + m->output_offset,
                                             m->act_min, m->act_max);
    }
}

/* one output element, or a 2 x 2 block (rows a, a + 1 of L; columns c, c + 1 of R) */
TF_ALWAYS_INLINE int64_t tf_bmm_dot(const int16_t *l, const int16_t *r, int32_t kp, int32_t wide)
{
    int64_t acc64 = 0;
    int32_t acc = 0;
    for (int32_t k = 0; k < kp; k += 2) {
        if (wide) {
            acc64 = tf_smlald_(tf_ld32(l + k), tf_ld32(r + k), acc64);
        } else {
            acc = tf_smlad_(tf_ld32(l + k), tf_ld32(r + k), acc);
        }
    }
    return wide ? acc64 : acc;
}

TF_ALWAYS_INLINE void tf_bmm_block32(const int16_t *l0, const int16_t *r0, int32_t kp, int32_t acc[4])
{
    const int16_t *l1 = l0 + kp, *r1 = r0 + kp;
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
#pragma GCC unroll 2
    for (int32_t k = 0; k < kp; k += 2) {
        const uint32_t x0 = tf_ld32(l0 + k), x1 = tf_ld32(l1 + k), y0 = tf_ld32(r0 + k), y1 = tf_ld32(r1 + k);
        a00 = tf_smlad_(x0, y0, a00);
        a01 = tf_smlad_(x0, y1, a01);
        a10 = tf_smlad_(x1, y0, a10);
        a11 = tf_smlad_(x1, y1, a11);
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

TF_ALWAYS_INLINE void tf_bmm_block64(const int16_t *l0, const int16_t *r0, int32_t kp, int64_t acc[4])
{
    const int16_t *l1 = l0 + kp, *r1 = r0 + kp;
    int64_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    for (int32_t k = 0; k < kp; k += 2) {
        const uint32_t x0 = tf_ld32(l0 + k), x1 = tf_ld32(l1 + k), y0 = tf_ld32(r0 + k), y1 = tf_ld32(r1 + k);
        a00 = tf_smlald_(x0, y0, a00);
        a01 = tf_smlald_(x0, y1, a01);
        a10 = tf_smlald_(x1, y0, a10);
        a11 = tf_smlald_(x1, y1, a11);
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

TF_ALWAYS_INLINE void tf_fast_bmm(const tf_fast_bmm_t *p, const void *lhs, const void *rhs, int16_t *scratch,
                                  void *output)
{
    const tf_bmm_params_t *m = &p->m;
    const int32_t kp = p->kp, rows = m->rows, cols = m->cols, size = p->wide ? 2 : 1;
    int16_t *l_col = scratch, *r_col = scratch + (p->lhs_packed ? 0 : rows * kp);
    int32_t at = 0;
    for (int32_t b0 = 0; b0 < m->batches[0]; ++b0) {
        for (int32_t b1 = 0; b1 < m->batches[1]; ++b1) {
            for (int32_t b2 = 0; b2 < m->batches[2]; ++b2) {
                const int32_t lb = b0 * m->lhs_batch[0] + b1 * m->lhs_batch[1] + b2 * m->lhs_batch[2];
                const int32_t rb = b0 * m->rhs_batch[0] + b1 * m->rhs_batch[1] + b2 * m->rhs_batch[2];
                const int16_t *l = (const int16_t *)lhs + lb, *r = (const int16_t *)rhs + rb;
                if (!p->lhs_packed) {
                    tf_bmm_pack((const int8_t *)lhs + lb * size, p->wide, rows, m->lhs_row, m->lhs_depth, m->depth,
                                kp, m->lhs_offset, l_col);
                    l = l_col;
                }
                if (!p->rhs_packed) {
                    tf_bmm_pack((const int8_t *)rhs + rb * size, p->wide, cols, m->rhs_col, m->rhs_depth, m->depth,
                                kp, m->rhs_offset, r_col);
                    r = r_col;
                }
                int32_t a = 0;
                for (; a + 2 <= rows; a += 2) {
                    int32_t c = 0;
                    for (; c + 2 <= cols; c += 2) {
                        int64_t acc[4];
                        if (p->wide) {
                            tf_bmm_block64(l + a * kp, r + c * kp, kp, acc);
                        } else {
                            int32_t acc32[4];
                            tf_bmm_block32(l + a * kp, r + c * kp, kp, acc32);
                            acc[0] = acc32[0], acc[1] = acc32[1], acc[2] = acc32[2], acc[3] = acc32[3];
                        }
                        tf_bmm_store(p, acc[0], output, at + a * cols + c);
                        tf_bmm_store(p, acc[1], output, at + a * cols + c + 1);
                        tf_bmm_store(p, acc[2], output, at + (a + 1) * cols + c);
                        tf_bmm_store(p, acc[3], output, at + (a + 1) * cols + c + 1);
                    }
                    if (c < cols) {
                        tf_bmm_store(p, tf_bmm_dot(l + a * kp, r + c * kp, kp, p->wide), output, at + a * cols + c);
                        tf_bmm_store(p, tf_bmm_dot(l + (a + 1) * kp, r + c * kp, kp, p->wide), output,
                                     at + (a + 1) * cols + c);
                    }
                }
                if (a < rows) {
                    for (int32_t c = 0; c < cols; ++c) {
                        tf_bmm_store(p, tf_bmm_dot(l + a * kp, r + c * kp, kp, p->wide), output, at + a * cols + c);
                    }
                }
                at += rows * cols;
            }
        }
    }
}

#endif
