/* Helium (MVE) CONV_2D (with a residual ADD folded in or not) and FULLY_CONNECTED (see tf_mve_requant.h for what the Helium kernels share). */
#ifndef TF_MVE_CONV_H
#define TF_MVE_CONV_H

#include "tf_mve_requant.h"

/* Per-layer functions of these kernels: TF_MVE_LAYER_ATTRS without GCC's low-overhead loops
 * (DLS/LE), whose counter lives in lr, one of the eight even registers the two-pixel dot products'
 * accumulators take (tf_mve_dot4x2): GCC moved it out and back around every one (vww's first 1x1
 * layer: 0.72 instructions per MAC with LE, 0.62 without). */
#define TF_MVE_CONV_LAYER_ATTRS __attribute__((noinline, optimize("O3", "no-branch-count-reg")))

/* ---- CONV_2D / FULLY_CONNECTED -------------------------------------------------------------------
 * Weights: per group of four output channels (zero channels pad the last group), per chunk of 16
 * filter bytes (zeros pad the last chunk), the four channels' 16 bytes one after the other:
 * [group][chunk][4][16]. Two pixels' column loads then feed eight VMLADAVA (tf_mve_dot4x2); an odd
 * last pixel alone, four (tf_mve_dot4). */

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
 * All chunks of the filter are one asm statement: the eight accumulators take every even register
 * (r0..r14) and, given an asm per chunk, GCC 12 shuffles them through the odd ones between chunks
 * (0.27 instructions per MAC on kws' pointwise layers instead of 0.18). In it, the first chunk
 * starts the accumulators (VMLADAV); up to TF_MVE_STRAIGHT chunks, the others follow in line
 * (.rept of the layer's constant count), beyond, (chunks - 1) % 2 do, then a loop of two chunks
 * per turn (c turns: longer or unrolled loops cost flash that ic2 does not have on mps3-an547);
 * last the partial chunk, loaded under the predicate m (k % 16 lanes: nothing past the columns is
 * read; the other lanes load as zero). GCC sizes an asm statement by its lines, not by what .rept
 * expands to: the empty lines of TF_MVE_REPT_PAD stand for the chunks .rept may add, so that
 * literal pools stay within reach. The pointers
 * take three odd registers; none is left to address "m" operands, hence the memory clobbers. */
#define TF_MVE_PAD14 "\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
#define TF_MVE_STRAIGHT 8
#define TF_MVE_REPT_PAD TF_MVE_PAD14 TF_MVE_PAD14 TF_MVE_PAD14 TF_MVE_PAD14 TF_MVE_PAD14 TF_MVE_PAD14 TF_MVE_PAD14
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
    TF_MVE_CHUNK8_ASM("vmladav") ".rept %c[n]\n\t" TF_MVE_CHUNK8_ASM("vmladava") ".endr\n\t" TF_MVE_REPT_PAD
#define TF_MVE_LOOP8_ASM                                                                            \
    "1:\n\t" TF_MVE_CHUNK8_ASM("vmladava") TF_MVE_CHUNK8_ASM("vmladava") "subs %[c], %[c], #1\n\tbne 1b\n\t"
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
    const int32_t straight = full <= TF_MVE_STRAIGHT, turns = full > 0 && !straight ? (full - 1) / 2 : 0;
    const int32_t inline_chunks = straight ? full - 1 : (full - 1) % 2;
    int32_t c = turns;
    if (full > 0 && k % 16 == 0 && turns == 0) {
        __asm__(TF_MVE_FULL8_ASM : TF_MVE_DOT8_OUT : [n] "i"(inline_chunks) : "memory");
    } else if (full > 0 && k % 16 == 0) {
        __asm__(TF_MVE_FULL8_ASM TF_MVE_LOOP8_ASM
                : TF_MVE_DOT8_OUT, [c] "+r"(c) : [n] "i"(inline_chunks) : "memory", "cc");
    } else if (full > 0 && turns == 0) {
        __asm__(TF_MVE_FULL8_ASM TF_MVE_TAIL8_ASM("vmladava")
                : TF_MVE_DOT8_OUT : [n] "i"(inline_chunks), [m] "Up"(vctp8q((uint32_t)(k % 16))) : "memory");
    } else if (full > 0) {
        __asm__(TF_MVE_FULL8_ASM TF_MVE_LOOP8_ASM TF_MVE_TAIL8_ASM("vmladava")
                : TF_MVE_DOT8_OUT, [c] "+r"(c)
                : [n] "i"(inline_chunks), [m] "Up"(vctp8q((uint32_t)(k % 16))) : "memory", "cc");
    } else {
        __asm__(TF_MVE_TAIL8_ASM("vmladav") : TF_MVE_DOT8_OUT : [m] "Up"(vctp8q((uint32_t)k)) : "memory");
    }
    (void)c;
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
    /* the even record requantised before the odd one's dot products: fewer live vectors */
    tf_mve_dot4x2(p, x, y, wp, q, 0, &ex, &ey);
    tf_mve_requant2(p, &ex, &ey, q, 0);
    tf_mve_dot4x2(p, x, y, wp, q, 1, &dx, &dy);
    tf_mve_requant2(p, &dx, &dy, q, 1);
    tf_mve_store8(ox, tf_mve_narrow8(p, ex, dx), n);
    tf_mve_store8(oy, tf_mve_narrow8(p, ey, dy), n);
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

/* ---- A residual ADD folded in (ops/conv_residual.py) ------------------------------------------
 * Each output is the convolution's int8 value, requantised and clamped to its own output
 * quantisation as without the ADD, then TFLite's ADD of it and the skip element (tf_mve_add.h
 * tf_mve_add_span, in the ADD's input order: position 0 when the convolution was its first input). The convolution's
 * values gather in tmp ((out_w + 1) * out_c bytes of scratch) and, about an output row at a time (a
 * long run: the ADD's setup is then paid once per row), the ADD writes them out. skip may be
 * the output itself: the ADD reads each skip element before writing over it, and the convolution
 * does not read them. */
typedef struct {
    /* tf_mve_add_span with the folded ADD's parameters, a per-layer function (GCC allocates its
     * registers apart from the convolution's: 4.7 instead of 6.9 instructions per element on ic) */
    void (*add)(const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n);
    int32_t position;
    const int8_t *skip;             /* the skip tensor, laid out as the output */
    int8_t *tmp;
    const int8_t *out0;             /* the output tensor (the skip elements' offset) */
    int8_t *start;                  /* where tmp's values go, up to the next pixel's output */
} tf_mve_res_t;

/* The ADD of the values in tmp, those of the outputs from start to end, into the output. */
TF_MVE_INLINE void tf_mve_res_flush(tf_mve_res_t *r, int8_t *end)
{
    const int8_t *skip = r->skip + (r->start - r->out0);
    if (r->position == 0) {
        r->add(r->tmp, skip, r->start, end - r->start);
    } else {
        r->add(skip, r->tmp, r->start, end - r->start);
    }
    r->start = end;
}

/* Where in tmp pixel(s) about to go to out (the next outputs in raster order) go: tmp holds
 * out_w + 1 pixels. */
TF_MVE_INLINE int8_t *tf_mve_res_slot(const tf_mve_conv_t *p, tf_mve_res_t *r, int8_t *out, int32_t pixels)
{
    if (__builtin_expect(out + pixels * p->g.out_c > r->start + (p->g.out_w + 1) * p->g.out_c, 0)) {
        tf_mve_res_flush(r, out);
    }
    return r->tmp + (out - r->start);
}

/* Pixels x and y (outputs out and out + out_c), or pixel x alone, through the ADD if r. */
TF_MVE_INLINE void tf_mve_emit2(const tf_mve_conv_t *p, tf_mve_res_t *r, const int8_t *x, const int8_t *y,
                                const int8_t *weights, const int32_t *rq, int8_t *out)
{
    const int32_t oc = p->g.out_c;
    int8_t *o = r ? tf_mve_res_slot(p, r, out, 2) : out;
    tf_mve_conv_pixel2(p, x, y, weights, rq, o, o + oc);
}

TF_MVE_INLINE void tf_mve_emit1(const tf_mve_conv_t *p, tf_mve_res_t *r, const int8_t *x,
                                const int8_t *weights, const int32_t *rq, int8_t *out)
{
    tf_mve_conv_pixel(p, x, weights, rq, r ? tf_mve_res_slot(p, r, out, 1) : out);
}

/* ---- Shallow filters (few input channels, e.g. a first layer over RGB): the band ---------------
 * The k_h input rows an output row reads are laid out column-major in a band: per input column
 * (padding columns included) its k_h rows' in_c values, slot = k_h * in_c bytes. Pixel ox's column
 * is then the k_w * slot contiguous bytes at ox * stride_w * slot, read in place like a 1x1
 * filter's (weights in [kx][ky][c] order), instead of gathering k_h runs of k_w * in_c bytes (a few
 * bytes each: vww's first layer spent more on them than on its MACs). Building it costs a scatter
 * store (VSTRB.8 with byte offsets, 16 / in_c input columns each) per input row and column chunk.
 * Two bands alternate by output row, so that a pixel pair may span two rows. */

/* The scatter offsets of one chunk of input bytes: lane l (column l / in_c, channel l % in_c) goes
 * to (l / in_c) * slot + l % in_c. The generator checks that they fit a byte. */
TF_MVE_INLINE uint8x16_t tf_mve_band_offsets(const tf_geom_t *g)
{
    uint8_t o[16];
    for (int32_t l = 0; l < 16; ++l) {
        o[l] = (uint8_t)(l / g->in_c * g->k_h * g->in_c + l % g->in_c);
    }
    return vldrbq_u8(o);
}

/* Fills the band for output row oy: each of its k_h input rows scattered into its slot of the real
 * columns, rows outside the input as pad_value (the padding columns hold pad_value throughout). */
TF_MVE_INLINE void tf_mve_band(const tf_mve_conv_t *p, const int8_t *in_b, int32_t oy, int8_t *band, uint8x16_t offs)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, slot = g->k_h * ic, per = 16 / ic;
    const int32_t n = g->in_w < p->strip_w - g->pad_w ? g->in_w : p->strip_w - g->pad_w;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    const mve_pred16_t last = vctp8q((uint32_t)((n - (n - 1) / per * per) * ic));
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_h + ky;
        int8_t *dst = band + g->pad_w * slot + ky * ic;
        const int8_t *src = in_b + iy * g->in_w * ic;
        int32_t c = 0;
        /* All 16 lanes but in the last chunk: lanes past per * in_c hold the next column's first
         * channels, a real column (c + per < n), and store them where that chunk will. */
        if (iy >= 0 && iy < g->in_h) {
            for (; c + per < n; c += per, dst += per * slot, src += per * ic) {
                vstrbq_scatter_offset_s8(dst, offs, vldrbq_s8(src));
            }
            vstrbq_scatter_offset_p_s8(dst, offs, vldrbq_z_s8(src, last), last);
        } else {
            for (; c + per < n; c += per, dst += per * slot) {
                vstrbq_scatter_offset_s8(dst, offs, pad);
            }
            vstrbq_scatter_offset_p_s8(dst, offs, pad, last);
        }
    }
}

/* CONV_2D over bands (scratch: two bands of strip_w columns), two pixels at a time in raster order
 * as tf_mve_conv_s8. */
TF_MVE_INLINE void tf_mve_conv_band_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                       const int32_t *rq, int8_t *bands, tf_mve_res_t *r, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t slot = g->k_h * g->in_c, bytes = p->strip_w * slot, step = g->stride_w * slot, oc = g->out_c;
    const uint8x16_t offs = tf_mve_band_offsets(g);
    tf_mve_fill(bands, vdupq_n_s8((int8_t)p->pad_value), 2 * bytes);
    const int8_t *held = 0;
    int8_t *held_out = 0;
    int32_t row = 0;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + b * g->in_h * g->in_w * g->in_c;
        for (int32_t oy = 0; oy < g->out_h; ++oy, ++row) {
            int8_t *band = bands + (row & 1) * bytes;
            tf_mve_band(p, in_b, oy, band, offs);
            int32_t ox = 0;
            if (held) {
                tf_mve_emit2(p, r, held, band, weights, rq, held_out);
                held = 0;
                ox = 1;
                output += oc;
            }
            for (; ox + 2 <= g->out_w; ox += 2, output += 2 * oc) {
                tf_mve_emit2(p, r, band + ox * step, band + (ox + 1) * step, weights, rq, output);
            }
            if (ox < g->out_w) {
                held = band + ox * step;
                held_out = output;
                output += oc;
            }
        }
    }
    if (g->batches * g->out_h * g->out_w % 2 && held) {   /* the layer's constant: no code if even */
        tf_mve_emit1(p, r, held, weights, rq, held_out);
    }
}

/* CONV_2D (weights as above, from OHWI) and FULLY_CONNECTED (a 1x1 CONV_2D over 'batches' pixels of
 * in_c values), two pixels at a time (tf_mve_conv_pixel2) in raster order, across rows; an odd last
 * pixel alone. col: 2k bytes of scratch unless direct (the pending pixel's column, then the next). */
TF_MVE_INLINE void tf_mve_conv_pixels(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                      const int32_t *rq, int8_t *col, tf_mve_res_t *r, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    const int32_t ic = g->in_c, oc = g->out_c;
    if (p->direct == TF_MVE_CONV_BAND) {
        tf_mve_conv_band_s8(p, input, weights, rq, col, r, output);
        return;
    }
    if (p->direct && g->stride_h == 1 && g->stride_w == 1) {
        /* a 1x1 stride-1 filter: pixel n's column is the input's n-th pixel */
        const int32_t n = g->batches * g->out_h * g->out_w;
        int32_t i = 0;
        for (; i + 2 <= n; i += 2, input += 2 * ic, output += 2 * oc) {
            tf_mve_emit2(p, r, input, input + ic, weights, rq, output);
        }
        if (i < n) {
            tf_mve_emit1(p, r, input, weights, rq, output);
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
                    tf_mve_emit2(p, r, held, x, weights, rq, held_out);
                    held = 0;
                } else {
                    held = x;
                    held_out = output;
                }
            }
        }
    }
    if (g->batches * g->out_h * g->out_w % 2 && held) {   /* the layer's constant: no code if even */
        tf_mve_emit1(p, r, held, weights, rq, held_out);
    }
}

TF_MVE_INLINE void tf_mve_conv_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                  const int32_t *rq, int8_t *col, int8_t *output)
{
    tf_mve_conv_pixels(p, input, weights, rq, col, 0, output);
}

/* CONV_2D with a residual ADD folded in (r: tf_mve_res_t). */
TF_MVE_INLINE void tf_mve_conv_res_s8(const tf_mve_conv_t *p, const int8_t *input, const int8_t *weights,
                                      const int32_t *rq, int8_t *col, tf_mve_res_t *r, int8_t *output)
{
    const tf_geom_t *g = &p->g;
    r->start = output;
    tf_mve_conv_pixels(p, input, weights, rq, col, r, output);
    tf_mve_res_flush(r, output + g->batches * g->out_h * g->out_w * g->out_c);
}

#endif
