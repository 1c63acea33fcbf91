/* RESIZE_NEAREST_NEIGHBOR: pixel copies; an output row with the same source row as the one before it
 * (upscaling) is a copy of that output row. */
#include <string.h>
#include "tf_resize.h"

void tf_resize_nearest(const tf_resize_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t px = (size_t)p->pixel_bytes;
    const size_t in_row = px * (size_t)p->in_w, out_row = px * (size_t)p->out_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * in_row;
        for (int32_t y = 0; y < p->out_h; ++y) {
            if (y > 0 && p->rows[y] == p->rows[y - 1]) {
                memcpy(output, output - out_row, out_row);
            } else {
                const int8_t *src = in_b + (size_t)p->rows[y] * in_row;
                for (int32_t x = 0; x < p->out_w; ++x) {
                    memcpy(output + (size_t)x * px, src + (size_t)p->cols[x] * px, px);
                }
            }
            output += out_row;
        }
    }
}
