/* RESIZE_NEAREST_NEIGHBOR (TFLM reference_ops::ResizeNearestNeighbor), NHWC: the source row and
 * column of every output row and column are computed at generation time (TFLM's float32
 * GetNearestNeighbor), so the kernel only copies pixels. */
#ifndef TF_RESIZE_H
#define TF_RESIZE_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, out_h, out_w;
    int32_t pixel_bytes;          /* depth * element size: any element type */
    const int32_t *rows;          /* [out_h] input row of each output row */
    const int32_t *cols;          /* [out_w] input column of each output column */
} tf_resize_params_t;

void tf_resize_nearest(const tf_resize_params_t *p, const int8_t *input, int8_t *output);

#endif
