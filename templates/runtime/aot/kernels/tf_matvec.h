/* One matrix-vector product of int8 operands with an int32 bias, portable C: what the recurrent
 * kernels (SVDF's feature weights, the LSTM's gates) take when the core has no DSP extension. */
#ifndef TF_MATVEC_H
#define TF_MATVEC_H

#include <stdint.h>

/* acc[r] = bias[r] + sum_c x[c] * w[r * cols + c], wrapping as TFLM's int32 accumulators do */
void tf_matvec_s8_portable(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows, int32_t cols,
                           int32_t *acc);

#endif
