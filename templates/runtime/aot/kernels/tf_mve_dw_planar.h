/* Helium (MVE) DEPTHWISE_CONV_2D over channel-planar rows (see tf_mve_requant.h for what the Helium
 * kernels share), for filters up to 4x4 without dilation or depth multiplier (ops/depthwise_mve.py).
 *
 * Each channel has a plane of 4-byte slots, one per padded input column; lane iy & 3 of a slot holds
 * input row iy. The k_h (<= 4) rows an output row needs are then all in every slot, and one 16-byte
 * load at the slot of an output pixel's first column holds its whole window (4 columns x 4 rows).
 * One VMLADAV.S8 against the channel's weights, laid out in the same lanes (their rows rotated by the
 * output row's phase iy0 & 3), is the pixel's sum: 16 lanes per instruction where tf_mve_depthwise.h
 * gets 4 per multiply. With stride 1 a second weight vector, one slot on, gives the next pixel from
 * the same load. Each input row is converted once (eight channels per load, scattered to their
 * planes with VSTRB.16). Eight pixels of one channel are requantised together with the channel's
 * scalars (VQRDMULH/VRSHL by a register) and scattered to the output.
 *
 * The kernel works in a view: its rows may be the tensor's columns (in_rs = 1, in_cs = in_w), which
 * the generator picks for tall, narrow layers (kws: 25x5) so that a row has more pixels. */
#ifndef TF_MVE_DW_PLANAR_H
#define TF_MVE_DW_PLANAR_H

#include "tf_mve_requant.h"

typedef struct {
    tf_mve_conv_t c;        /* geometry in the view; strip_w: slots per plane */
    int32_t in_rs, in_cs;   /* input pixels from one view row / column to the next */
    int32_t out_rs, out_cs; /* output pixels likewise */
} tf_mve_dwp_t;

/* Weights: per channel and phase (iy0 & 3) 4 zero bytes then the 16 lanes w0 (lane 4 kx + ((phase +
 * ky) & 3) holds tap (ky, kx)); the record's first 16 bytes are w1, the same taps one slot on. */
#define TF_MVE_DWP_RECORD 20
/* Requantisation: per channel int32 bias, multiplier, max(shift, 0), min(shift, 0). */
#define TF_MVE_DWP_RQ 4

/* Input row iy of the view (or pad_value outside the input) into lane iy & 3 of its slots in every
 * plane; the padding columns keep pad_value in all lanes (filled once). */
TF_MVE_INLINE void tf_mve_dwp_row_in(const tf_mve_dwp_t *p, const int8_t *in_b, int32_t iy, int8_t *planes)
{
    const tf_geom_t *g = &p->c.g;
    const int32_t c_n = g->in_c, plane = p->c.strip_w * 4;
    const uint16x8_t to_planes = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)plane);
    int8_t *d = planes + g->pad_w * 4 + (iy & 3);
    if (iy < 0 || iy >= g->in_h) {
        const int16x8_t pad = vdupq_n_s16((int16_t)p->c.pad_value);
        for (int32_t x = 0; x < g->in_w; ++x, d += 4) {
            for (int32_t c = 0; c < c_n; c += 8) {
                vstrbq_scatter_offset_p_s16(d + c * plane, to_planes, pad, vctp16q((uint32_t)(c_n - c)));
            }
        }
        return;
    }
    const int8_t *src = in_b + iy * p->in_rs * c_n;
    for (int32_t x = 0; x < g->in_w; ++x, d += 4, src += p->in_cs * c_n) {
        int32_t c = 0;
        for (; c + 8 <= c_n; c += 8) {
            vstrbq_scatter_offset_s16(d + c * plane, to_planes, vldrbq_s16(src + c));
        }
        if (c < c_n) {
            const mve_pred16_t m = vctp16q((uint32_t)(c_n - c));
            vstrbq_scatter_offset_p_s16(d + c * plane, to_planes, vldrbq_z_s16(src + c, m), m);
        }
    }
}

/* The sums of four consecutive output pixels whose first slot is x. Stride 1 (PAIRS): two loads,
 * each against w0 and w1. Otherwise four loads s slots apart (byte offset o = 4 s). Inline assembly
 * for VMLADAV's even destination registers (see tf_mve_conv.h). */
#define TF_MVE_DWP4_PAIRS(x, w0, w1, a0, a1, a2, a3)                                               \
    __asm__("vldrb.u8 %q[t], [%[xp]]\n\t"                                                          \
            "vmladav.s8 %[r0], %q[t], %q[v0]\n\t"                                                  \
            "vmladav.s8 %[r1], %q[t], %q[v1]\n\t"                                                  \
            "vldrb.u8 %q[t], [%[xp], #8]\n\t"                                                      \
            "vmladav.s8 %[r2], %q[t], %q[v0]\n\t"                                                  \
            "vmladav.s8 %[r3], %q[t], %q[v1]"                                                      \
            : [r0] "=&Te"(a0), [r1] "=&Te"(a1), [r2] "=&Te"(a2), [r3] "=&Te"(a3), [t] "=&w"(tf_mve_t_) \
            : [xp] "r"(x), [v0] "w"(w0), [v1] "w"(w1), "m"(*(const int8_t(*)[24])(x)))
#define TF_MVE_DWP4_STRIDED(x, o, w0, a0, a1, a2, a3)                                              \
    __asm__("vldrb.u8 %q[t], [%[xp]]\n\t"                                                          \
            "vmladav.s8 %[r0], %q[t], %q[v0]\n\t"                                                  \
            "vldrb.u8 %q[t], [%[xp], #%c[o1]]\n\t"                                                 \
            "vmladav.s8 %[r1], %q[t], %q[v0]\n\t"                                                  \
            "vldrb.u8 %q[t], [%[xp], #%c[o2]]\n\t"                                                 \
            "vmladav.s8 %[r2], %q[t], %q[v0]\n\t"                                                  \
            "vldrb.u8 %q[t], [%[xp], #%c[o3]]\n\t"                                                 \
            "vmladav.s8 %[r3], %q[t], %q[v0]"                                                      \
            : [r0] "=&Te"(a0), [r1] "=&Te"(a1), [r2] "=&Te"(a2), [r3] "=&Te"(a3), [t] "=&w"(tf_mve_t_) \
            : [xp] "r"(x), [v0] "w"(w0), [o1] "i"(o), [o2] "i"(2 * (o)), [o3] "i"(3 * (o)),            \
              "m"(*(const int8_t(*)[64])(x)))

/* Four output pixels' sums as one vector, lane i pixel i. */
TF_MVE_INLINE int32x4_t tf_mve_dwp_sums4(const tf_mve_dwp_t *p, const int8_t *x, int8x16_t w0, int8x16_t w1)
{
    int8x16_t tf_mve_t_;
    int32_t a0, a1, a2, a3;
    if (p->c.g.stride_w == 1 && p->c.g.k_w <= 3) {
        TF_MVE_DWP4_PAIRS(x, w0, w1, a0, a1, a2, a3);
    } else {
        TF_MVE_DWP4_STRIDED(x, 4 * p->c.g.stride_w, w0, a0, a1, a2, a3);
    }
    (void)tf_mve_t_;
    return tf_mve_pack4(a0, a1, a2, a3);
}

/* TFLite's requantisation (tf_mve_requant_v) with one channel's scalars for all lanes. */
TF_MVE_INLINE int32x4_t tf_mve_requant_n(const tf_mve_conv_t *p, int32x4_t acc, int32_t mult, int32_t left,
                                         int32_t right)
{
    if (p->left_shift) {
        acc = vshlq_r_s32(acc, left);
    }
    int32x4_t r = vqrdmulhq_n_s32(acc, mult);
    if (p->rounding == TF_MVE_ROUND_SIGN || (p->rounding == TF_MVE_ROUND_MASKED && right < 0)) {
        r = vqaddq_s32(r, vshrq_n_s32(r, 31));
    }
    return vrshlq_n_s32(r, right);
}

/* n (<= 8) consecutive output pixels of one channel from slot x: sums, requantisation, and a scatter
 * to the output (to_out: the byte offsets of the narrowed lanes' pixels, 0 4 1 5 2 6 3 7). */
TF_MVE_INLINE void tf_mve_dwp_block(const tf_mve_dwp_t *p, const int8_t *x, int8x16_t w0, int8x16_t w1,
                                    const int32_t *q, int8_t *out, uint16x8_t to_out, int32_t n)
{
    const tf_mve_conv_t *c = &p->c;
    const int32_t mult = c->per_tensor ? c->mult : q[1], left = c->per_tensor ? c->left : q[2];
    const int32_t right = c->per_tensor ? c->right : q[3];
    int32x4_t lo = vaddq_n_s32(tf_mve_dwp_sums4(p, x, w0, w1), q[0]), hi = lo;
    if (n > 4) {
        hi = vaddq_n_s32(tf_mve_dwp_sums4(p, x + 16 * c->g.stride_w, w0, w1), q[0]);
        hi = tf_mve_requant_n(c, hi, mult, left, right);
    }
    lo = tf_mve_requant_n(c, lo, mult, left, right);
    const int16x8_t v = tf_mve_narrow8(c, lo, n > 4 ? hi : lo);
    if (n == 8) {
        vstrbq_scatter_offset_s16(out, to_out, v);
    } else {
        const uint16_t end = (uint16_t)(n * p->out_cs * c->g.out_c);
        vstrbq_scatter_offset_p_s16(out, to_out, v, vcmphiq_u16(vdupq_n_u16(end), to_out));
    }
}

/* One output row of one channel: x its plane's first slot, wr its weight record for the row's phase. */
TF_MVE_INLINE void tf_mve_dwp_row(const tf_mve_dwp_t *p, const int8_t *x, const int8_t *wr, const int32_t *q,
                                  int8_t *out, uint16x8_t to_out)
{
    const tf_geom_t *g = &p->c.g;
    const int8x16_t w1 = vldrbq_s8(wr), w0 = vldrbq_s8(wr + 4);
    int32_t ox = 0;
    for (; ox + 8 <= g->out_w; ox += 8, x += 32 * g->stride_w, out += 8 * p->out_cs * g->out_c) {
        tf_mve_dwp_block(p, x, w0, w1, q, out, to_out, 8);
    }
    if (g->out_w % 8) {
        tf_mve_dwp_block(p, x, w0, w1, q, out, to_out, g->out_w % 8);
    }
}

/* Two output rows at once (stride 1 both ways, filters up to 3x3): a slot's four lanes hold the
 * k_h + 1 rows they need, so one load, against the weights of phase r (upper row) and r + 1 (lower
 * row), each at the slot and one slot on, gives four sums: two columns of both rows. */
#define TF_MVE_DWP_QUAD(x, off, w0, w1, v0, v1, a0, a1, b0, b1)                                   \
    __asm__("vldrb.u8 %q[t], [%[xp], #" off "]\n\t"                                              \
            "vmladav.s8 %[r0], %q[t], %q[u0]\n\t"                                                \
            "vmladav.s8 %[r1], %q[t], %q[u1]\n\t"                                                \
            "vmladav.s8 %[s0], %q[t], %q[l0]\n\t"                                                \
            "vmladav.s8 %[s1], %q[t], %q[l1]"                                                      \
            : [r0] "=&Te"(a0), [r1] "=&Te"(a1), [s0] "=&Te"(b0), [s1] "=&Te"(b1), [t] "=&w"(tf_mve_t_) \
            : [xp] "r"(x), [u0] "w"(w0), [u1] "w"(w1), [l0] "w"(v0), [l1] "w"(v1),                 \
              "m"(*(const int8_t(*)[24])(x)))

static const uint16_t tf_mve_dwp_col2[8] = {0, 2, 1, 3, 0, 2, 1, 3};
static const uint16_t tf_mve_dwp_row2sel[8] = {0, 0, 0, 0, 1, 1, 1, 1};

/* n (<= 4) columns of two rows of one channel from slot x. Lanes after narrowing: upper row columns
 * 0 2 1 3, lower row likewise (to_out2 holds their byte offsets). */
TF_MVE_INLINE void tf_mve_dwp_block2(const tf_mve_dwp_t *p, const int8_t *x, const int8x16_t *w, const int32_t *q,
                                     int8_t *out, uint16x8_t to_out2, int32_t n)
{
    const tf_mve_conv_t *c = &p->c;
    const int32_t mult = c->per_tensor ? c->mult : q[1], left = c->per_tensor ? c->left : q[2];
    const int32_t right = c->per_tensor ? c->right : q[3];
    int8x16_t tf_mve_t_;
    int32_t a0, a1, b0, b1;
    TF_MVE_DWP_QUAD(x, "0", w[0], w[1], w[2], w[3], a0, a1, b0, b1);
    int32x4_t lo = tf_mve_requant_n(c, vaddq_n_s32(tf_mve_pack4(a0, a1, b0, b1), q[0]), mult, left, right), hi = lo;
    if (n > 2) {
        TF_MVE_DWP_QUAD(x, "8", w[0], w[1], w[2], w[3], a0, a1, b0, b1);
        hi = tf_mve_requant_n(c, vaddq_n_s32(tf_mve_pack4(a0, a1, b0, b1), q[0]), mult, left, right);
    }
    (void)tf_mve_t_;
    const int16x8_t v = tf_mve_narrow8(c, lo, hi);
    if (n == 4) {
        vstrbq_scatter_offset_s16(out, to_out2, v);
    } else {
        vstrbq_scatter_offset_p_s16(out, to_out2, v, vcmphiq_u16(vdupq_n_u16((uint16_t)n), vld1q_u16(tf_mve_dwp_col2)));
    }
}

/* Two output rows of one channel: wr, wr2 the weight records of their phases. */
TF_MVE_INLINE void tf_mve_dwp_row2(const tf_mve_dwp_t *p, const int8_t *x, const int8_t *wr, const int8_t *wr2,
                                   const int32_t *q, int8_t *out, uint16x8_t to_out2)
{
    const tf_geom_t *g = &p->c.g;
    const int8x16_t w[4] = {vldrbq_s8(wr + 4), vldrbq_s8(wr), vldrbq_s8(wr2 + 4), vldrbq_s8(wr2)};
    int32_t ox = 0;
    for (; ox + 4 <= g->out_w; ox += 4, x += 16, out += 4 * p->out_cs * g->out_c) {
        tf_mve_dwp_block2(p, x, w, q, out, to_out2, 4);
    }
    if (g->out_w % 4) {
        tf_mve_dwp_block2(p, x, w, q, out, to_out2, g->out_w % 4);
    }
}

/* planes: out_c planes of strip_w slots (scratch). */
TF_MVE_INLINE void tf_mve_dw_planar_s8(const tf_mve_dwp_t *p, const int8_t *input, const int8_t *weights,
                                       const int32_t *rq, int8_t *planes, int8_t *output)
{
    static const uint16_t order[8] = {0, 4, 1, 5, 2, 6, 3, 7};
    const tf_geom_t *g = &p->c.g;
    const int32_t c_n = g->out_c, plane = p->c.strip_w * 4;
    const uint16x8_t to_out = vmulq_n_u16(vld1q_u16(order), (uint16_t)(p->out_cs * c_n));
    const uint16x8_t to_out2 = vaddq_u16(vmulq_n_u16(vld1q_u16(tf_mve_dwp_col2), (uint16_t)(p->out_cs * c_n)),
                                         vmulq_n_u16(vld1q_u16(tf_mve_dwp_row2sel), (uint16_t)(p->out_rs * c_n)));
    const int32_t two_rows = g->stride_h == 1 && g->stride_w == 1 && g->k_h <= 3 && g->k_w <= 3;
    tf_mve_fill(planes, vdupq_n_s8((int8_t)p->c.pad_value), c_n * plane);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * c_n;
        int8_t *out_b = output + b * g->out_h * g->out_w * c_n;
        int32_t hi = 0;   /* rows below hi are in the planes */
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h, rows = two_rows && oy + 1 < g->out_h ? 2 : 1;
            for (int32_t iy = oy == 0 || hi < iy0 ? iy0 : hi; iy < iy0 + g->k_h + rows - 1; ++iy) {
                tf_mve_dwp_row_in(p, in_b, iy, planes);
            }
            hi = iy0 + g->k_h + rows - 1;
            const int8_t *wr = weights + (iy0 & 3) * TF_MVE_DWP_RECORD;
            int8_t *out = out_b + oy * p->out_rs * c_n;
            if (rows == 2) {
                const int8_t *wr2 = weights + ((iy0 + 1) & 3) * TF_MVE_DWP_RECORD;
                for (int32_t c = 0; c < c_n; ++c) {
                    tf_mve_dwp_row2(p, planes + c * plane, wr + c * 4 * TF_MVE_DWP_RECORD,
                                    wr2 + c * 4 * TF_MVE_DWP_RECORD, rq + c * TF_MVE_DWP_RQ, out + c, to_out2);
                }
                ++oy;
                continue;
            }
            for (int32_t c = 0; c < c_n; ++c) {
                tf_mve_dwp_row(p, planes + c * plane, wr + c * 4 * TF_MVE_DWP_RECORD, rq + c * TF_MVE_DWP_RQ,
                               out + c, to_out);
            }
        }
    }
}

#endif
