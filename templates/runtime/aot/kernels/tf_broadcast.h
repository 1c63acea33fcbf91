/* Element-wise binary operators with TFLM's broadcasting (reference_ops::BroadcastBinaryOpSimple):
 * the generator fuses the dimensions into at most 8 loops (innermost first), each with its extent and
 * the two inputs' steps in elements; the output is written in order. The innermost loop is one call
 * of the operator's row function, whose input steps are 0 (a broadcast value) or 1. Inputs of the
 * same shape are one row call over the whole tensor, without the loop nest. */
#ifndef TF_BROADCAST_H
#define TF_BROADCAST_H

#include <stdint.h>

#define TF_BROADCAST_MAX_LOOPS 8

typedef void (*tf_row_fn)(const void *params, const void *a, int32_t a_step, const void *b, int32_t b_step,
                          void *out, int32_t n);

typedef struct {
    int32_t levels, elem_bytes;          /* inputs and output share the element type */
    struct {
        int32_t n, a, b;                 /* extent, input steps (elements) */
    } loop[TF_BROADCAST_MAX_LOOPS];
} tf_broadcast_t;

void tf_broadcast(const tf_broadcast_t *bc, const void *params, const void *a, const void *b, void *out,
                  tf_row_fn row);

/* A row function from an element function elem(params, x, y) -> int32 (already clamped): three tight
 * loops, so neither input pays for the other's broadcast. */
#define TF_ELEMENTWISE_ROW(name, params_t, in_t, out_t, elem)                                           \
    void name(const void *pv, const void *av, int32_t a_step, const void *bv, int32_t b_step, void *ov,   \
              int32_t n)                                                                                  \
    {                                                                                                     \
        const params_t *p = (const params_t *)pv;                                                         \
        const in_t *a = (const in_t *)av;                                                                 \
        const in_t *b = (const in_t *)bv;                                                                 \
        out_t *o = (out_t *)ov;                                                                           \
        if (a_step && b_step) {                                                                           \
            for (int32_t i = 0; i < n; ++i) {                                                             \
                o[i] = (out_t)elem(p, a[i], b[i]);                                                        \
            }                                                                                             \
        } else if (b_step) {                                                                              \
            const int32_t x = a[0];                                                                       \
            for (int32_t i = 0; i < n; ++i) {                                                             \
                o[i] = (out_t)elem(p, x, b[i]);                                                           \
            }                                                                                             \
        } else {                                                                                          \
            const int32_t y = b[0];                                                                       \
            for (int32_t i = 0; i < n; ++i) {                                                             \
                o[i] = (out_t)elem(p, a[i], y);                                                           \
            }                                                                                             \
        }                                                                                                 \
    }

static inline int32_t tf_clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* x * 2^shift without signed overflow (TFLM's x * (1 << left_shift); the values never overflow). */
static inline int32_t tf_shl(int32_t x, int32_t shift)
{
    return (int32_t)((uint32_t)x << shift);
}

#endif
