/* The loop nest of broadcasting element-wise operators (tf_broadcast.h). */
#include "tf_broadcast.h"

static void tf_broadcast_level(const tf_broadcast_t *bc, int32_t level, const void *params, const uint8_t *a,
                               const uint8_t *b, uint8_t **out, tf_row_fn row)
{
    const int32_t n = bc->loop[level].n;
    if (level == 0) {
        row(params, a, bc->loop[0].a, b, bc->loop[0].b, *out, n);
        *out += n * bc->elem_bytes;
        return;
    }
    const int32_t step_a = bc->loop[level].a * bc->elem_bytes, step_b = bc->loop[level].b * bc->elem_bytes;
    for (int32_t i = 0; i < n; ++i) {
        tf_broadcast_level(bc, level - 1, params, a, b, out, row);
        a += step_a;
        b += step_b;
    }
}

void tf_broadcast(const tf_broadcast_t *bc, const void *params, const void *a, const void *b, void *out,
                  tf_row_fn row)
{
    uint8_t *o = (uint8_t *)out;
    tf_broadcast_level(bc, bc->levels - 1, params, (const uint8_t *)a, (const uint8_t *)b, &o, row);
}
