/* Helium (MVE) CONV_2D and FULLY_CONNECTED (see tf_mve_requant.h for what the Helium kernels share). */
#ifndef TF_MVE_CONV_H
#define TF_MVE_CONV_H

#include "tf_mve_requant.h"

/* ---- CONV_2D / FULLY_CONNECTED -------------------------------------------------------------------
 * Weights: per group of four output channels (zero channels pad the last group), per chunk of 16
 * filter bytes (zeros pad the last chunk), the four channels' 16 bytes one after the other:
 * [group][chunk][4][16]. One column load then feeds four VMLADAVA. */

/* One chunk: 16 column bytes (v) against four weight rows, added to a0..a3. Inline assembly
 * because VMLADAVA's accumulator must be an even register (constraint Te), which GCC 12's allocator
 * satisfies around the intrinsic only with moves and spills (0.37 instead of 0.21 instructions per
 * MAC on kws' pointwise layers). w advances by the chunk's 64 bytes. TF_MVE_CHUNK4_FIRST starts the
 * accumulators (VMLADAV) instead of adding to them. */
#define TF_MVE_CHUNK4_ASM(op)                                                                       \
    "vldrw.32 %q[t], [%[wp]], #64\n\t"                                                              \
    op ".s8 %[r0], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-48]\n\t"                                                             \
    op ".s8 %[r1], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-32]\n\t"                                                             \
    op ".s8 %[r2], %q[x], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-16]\n\t"                                                             \
    op ".s8 %[r3], %q[x], %q[t]"
#define TF_MVE_CHUNK4(v, w, a0, a1, a2, a3)                                                         \
    __asm__(TF_MVE_CHUNK4_ASM("vmladava")                                                           \
            : [wp] "+r"(w), [r0] "+Te"(a0), [r1] "+Te"(a1), [r2] "+Te"(a2), [r3] "+Te"(a3),          \
              [t] "=&w"(tf_mve_t_)                                                                  \
            : [x] "w"(v), "m"(*(const int8_t(*)[64])w))
#define TF_MVE_CHUNK4_FIRST(v, w, a0, a1, a2, a3)                                                   \
    __asm__(TF_MVE_CHUNK4_ASM("vmladav")                                                            \
            : [wp] "+r"(w), [r0] "=&Te"(a0), [r1] "=&Te"(a1), [r2] "=&Te"(a2), [r3] "=&Te"(a3),      \
              [t] "=&w"(tf_mve_t_)                                                                  \
            : [x] "w"(v), "m"(*(const int8_t(*)[64])w))

/* The accumulators of four output channels (one record q) for the column x of k bytes; *wp
 * advances past their weights. */
TF_MVE_INLINE int32x4_t tf_mve_dot4(const tf_mve_conv_t *p, const int8_t *x, const int8_t **wp,
                                    const int32_t *q)
{
    const int32_t k = p->k, full = k / 16;
    const int8_t *w = *wp;
    int8x16_t tf_mve_t_;
    int32_t a0, a1, a2, a3;
    if (full > 0) {
        TF_MVE_CHUNK4_FIRST(vldrbq_s8(x), w, a0, a1, a2, a3);
        x += 16;
        for (int32_t j = 1; j < full; ++j, x += 16) {
            TF_MVE_CHUNK4(vldrbq_s8(x), w, a0, a1, a2, a3);
        }
    }
    if (k % 16) {
        /* a predicated load reads nothing past the column (which may be the end of the input) */
        const int8x16_t v = vldrbq_z_s8(x, vctp8q((uint32_t)(k % 16)));
        if (full > 0) {
            TF_MVE_CHUNK4(v, w, a0, a1, a2, a3);
        } else {
            TF_MVE_CHUNK4_FIRST(v, w, a0, a1, a2, a3);
        }
    }
    (void)tf_mve_t_;
    *wp = w;
    return vaddq_s32(tf_mve_pack4(a0, a1, a2, a3), tf_mve_ldq(q));
}

/* Two pixels' dot products against four weight rows: per chunk, 16 bytes of columns x and y, then
 * per row one weight load feeding two VMLADAVA, into a0..a3 (x) and b0..b3 (y). -icount counts
 * instructions, so loads per MAC are what cost: 14 instructions per 128 MACs instead of 9 per 64.
 * All chunks of the filter are one asm statement (.rept over the layer's constant chunk count): the
 * eight accumulators take every even register (r0..r14) and, given an asm per chunk, GCC 12 shuffles
 * them through the odd ones between chunks (0.27 instructions per MAC on kws' pointwise layers
 * instead of 0.18). The pointers take three odd registers; none is left to address "m" operands,
 * hence the memory clobbers. The partial last chunk is loaded under the predicate m (k % 16 lanes:
 * nothing past the columns is read; the other lanes load as zero). */
#define TF_MVE_ROWS8_ASM(op)                                                                        \
    "vldrw.32 %q[t], [%[wp]], #64\n\t"                                                              \
    op ".s8 %[r0], %q[u], %q[t]\n\t"                                                                \
    op ".s8 %[s0], %q[v], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-48]\n\t"                                                             \
    op ".s8 %[r1], %q[u], %q[t]\n\t"                                                                \
    op ".s8 %[s1], %q[v], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-32]\n\t"                                                             \
    op ".s8 %[r2], %q[u], %q[t]\n\t"                                                                \
    op ".s8 %[s2], %q[v], %q[t]\n\t"                                                                \
    "vldrw.32 %q[t], [%[wp], #-16]\n\t"                                                             \
    op ".s8 %[r3], %q[u], %q[t]\n\t"                                                                \
    op ".s8 %[s3], %q[v], %q[t]\n\t"
#define TF_MVE_CHUNK8_ASM(op)                                                                       \
    "vldrb.8 %q[u], [%[xp]], #16\n\t"                                                               \
    "vldrb.8 %q[v], [%[yp]], #16\n\t" TF_MVE_ROWS8_ASM(op)
#define TF_MVE_FULL8_ASM                                                                            \
    TF_MVE_CHUNK8_ASM("vmladav") ".rept %c[n]\n\t" TF_MVE_CHUNK8_ASM("vmladava") ".endr\n\t"
#define TF_MVE_TAIL8_ASM(op)                                                                        \
    "vpstt\n\tvldrbt.8 %q[u], [%[xp]]\n\tvldrbt.8 %q[v], [%[yp]]\n\t" TF_MVE_ROWS8_ASM(op)
#define TF_MVE_DOT8_OUT                                                                             \
    [wp] "+r"(w), [xp] "+r"(x), [yp] "+r"(y), [r0] "=&Te"(a[0]), [r1] "=&Te"(a[1]),                 \
    [r2] "=&Te"(a[2]), [r3] "=&Te"(a[3]), [s0] "=&Te"(b[0]), [s1] "=&Te"(b[1]), [s2] "=&Te"(b[2]),    \
    [s3] "=&Te"(b[3]), [t] "=&w"(t), [u] "=&w"(u), [v] "=&w"(v)

/* tf_mve_dot4 for two columns x and y at once: the accumulators of record rec (0 or 1) after q for
 * each. */
TF_MVE_INLINE void tf_mve_dot4x2(const tf_mve_conv_t *p, const int8_t *x, const int8_t *y, const int8_t **wp,
                                 const int32_t *q, int rec, int32x4_t *rx, int32x4_t *ry)
{
    const int32_t k = p->k, full = k / 16;
    const int8_t *w = *wp;
    int8x16_t t, u, v;
    int32_t a[4], b[4];
    if (k % 16 == 0) {
        __asm__(TF_MVE_FULL8_ASM : TF_MVE_DOT8_OUT : [n] "i"(full - 1) : "memory");
    } else if (full > 0) {
        __asm__(TF_MVE_FULL8_ASM TF_MVE_TAIL8_ASM("vmladava")
                : TF_MVE_DOT8_OUT : [n] "i"(full - 1), [m] "Up"(vctp8q((uint32_t)(k % 16))) : "memory");
    } else {
        __asm__(TF_MVE_TAIL8_ASM("vmladav") : TF_MVE_DOT8_OUT : [m] "Up"(vctp8q((uint32_t)k)) : "memory");
    }
    (void)t;
    (void)u;
    (void)v;
    *wp = w;
    const int32x4_t bias = rec ? TF_MVE_LDQ_AT(q, p->per_tensor ? 4 : 16) : TF_MVE_LDQ_AT(q, 0);
    *rx = vaddq_s32(tf_mve_pack4(a[0], a[1], a[2], a[3]), bias);
    *ry = vaddq_s32(tf_mve_pack4(b[0], b[1], b[2], b[3]), bias);
}

/* Eight output channels (records q and the next) of two pixels, stored to ox and oy. */
TF_MVE_INLINE void tf_mve_channels8x2(const tf_mve_conv_t *p, const int8_t *x, const int8_t *y,
                                      const int8_t **wp, const int32_t *q, int8_t *ox, int8_t *oy, int32_t n)
{
    int32x4_t ex, ey, dx, dy;
    tf_mve_dot4x2(p, x, y, wp, q, 0, &ex, &ey);
    tf_mve_dot4x2(p, x, y, wp, q, 1, &dx, &dy);
    int16x8_t vx, vy;
    tf_mve_finish8x2(p, ex, dx, ey, dy, q, &vx, &vy);
    tf_mve_store8(ox, vx, n);
    tf_mve_store8(oy, vy, n);
}

/* All output channels of two pixels (columns x, y; outputs ox, oy), eight at a time: each weight
 * and requantisation load serves both. */
TF_MVE_INLINE void tf_mve_conv_pixel2(const tf_mve_conv_t *p, const int8_t *x, const int8_t *y,
                                      const int8_t *weights, const int32_t *rq, int8_t *ox, int8_t *oy)
{
    const int32_t oc = p->g.out_c;
    int32_t o = 0;
    for (; o + 8 <= oc; o += 8, rq = TF_MVE_RQ(p, rq, 2)) {
        tf_mve_channels8x2(p, x, y, &weights, rq, ox + o, oy + o, 8);
    }
    if (o < oc) {
        tf_mve_channels8x2(p, x, y, &weights, rq, ox + o, oy + o, oc - o);
    }
}

/* All output channels of one pixel whose column is x, eight at a time (two records each). */
TF_MVE_INLINE void tf_mve_conv_pixel(const tf_mve_conv_t *p, const int8_t *x, const int8_t *weights,
                                     const int32_t *rq, int8_t *out)
{
    const int32_t oc = p->g.out_c;
    int32_t o = 0;
    for (; o + 8 <= oc; o += 8, rq = TF_MVE_RQ(p, rq, 2)) {
        const int32x4_t even = tf_mve_dot4(p, x, &weights, rq), odd = tf_mve_dot4(p, x, &weights, TF_MVE_RQ(p, rq, 1));
        tf_mve_store8(out + o, tf_mve_finish8(p, even, odd, rq), 8);
    }
    if (o < oc) {
        const int32x4_t even = tf_mve_dot4(p, x, &weights, rq), odd = tf_mve_dot4(p, x, &weights, TF_MVE_RQ(p, rq, 1));
        tf_mve_store8(out + o, tf_mve_finish8(p, even, odd, rq), oc - o);
    }
}

/* The receptive field of output pixel (oy, ox) as k contiguous bytes, padded taps = pad_value. */
TF_MVE_INLINE void tf_mve_im2col(const tf_mve_conv_t *p, const int8_t *input, int32_t oy, int32_t ox, int8_t *col)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, row = g->k_w * ic;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    for (int32_t ky = 0; ky < g->k_h; ++ky, col += row) {
        const int32_t iy = iy0 + ky * g->dil_h;
        if (iy < 0 || iy >= g->in_h) {
            tf_mve_fill(col, pad, row);
        } else if (g->dil_w == 1 && ix0 >= 0 && ix0 + g->k_w <= g->in_w) {
            tf_mve_copy(col, input + (iy * g->in_w + ix0) * ic, row);
        } else {
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = ix0 + kx * g->dil_w;
                if (ix >= 0 && ix < g->in_w) {
                    tf_mve_copy(col + kx * ic, input + (iy * g->in_w + ix) * ic, ic);
                } else {
                    tf_mve_fill(col + kx * ic, pad, ic);
                }
            }
        }
    }
}

/* CONV_2D (weights as above, from OHWI) and FULLY_CONNECTED (a 1x1 CONV_2D over 'batches' pixels of
 * in_c values), two pixels at a time (tf_mve_conv_pixel2) in raster order, across rows; an odd last
 * pixel alone. col: 2k bytes of scratch unless direct (the pending pixel's column, then the next). */
TF_MVE_INLINE void tf_mve_conv_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                  const int32_t *rq, int8_t *col, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, oc = g->out_c;
    if (p->direct && g->stride_h == 1 && g->stride_w == 1) {
        /* a 1x1 stride-1 filter: pixel n's column is the input's n-th pixel */
        const int32_t n = g->batches * g->out_h * g->out_w;
        int32_t i = 0;
        for (; i + 2 <= n; i += 2, input += 2 * ic, output += 2 * oc) {
            tf_mve_conv_pixel2(p, input, input + ic, weights, rq, output, output + oc);
        }
        if (i < n) {
            tf_mve_conv_pixel(p, input, weights, rq, output);
        }
        return;
    }
    const int8_t *held = 0;     /* the column of a pixel waiting for its pair, and its output */
    int8_t *held_out = 0;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * ic;
        for (int32_t oy = 0; oy < g->out_h; ++oy) {
            for (int32_t ox = 0; ox < g->out_w; ++ox, output += oc) {
                const int8_t *x;
                if (p->direct) {
                    x = in_b + (oy * g->stride_h * g->in_w + ox * g->stride_w) * ic;
                } else {
                    int8_t *c = held ? col + p->k : col;
                    tf_mve_im2col(p, in_b, oy, ox, c);
                    x = c;
                }
                if (held) {
                    tf_mve_conv_pixel2(p, held, x, weights, rq, held_out, output);
                    held = 0;
                } else {
                    held = x;
                    held_out = output;
                }
            }
        }
    }
    if (held) {
        tf_mve_conv_pixel(p, held, weights, rq, held_out);
    }
}

#endif
