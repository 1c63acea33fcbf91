#include "tf_matvec.h"

void tf_matvec_s8_portable(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows, int32_t cols,
                           int32_t *acc)
{
    for (int32_t r = 0; r < rows; ++r) {
        uint32_t a = (uint32_t)bias[r];
        for (int32_t c = 0; c < cols; ++c) {
            a += (uint32_t)((int32_t)x[c] * (int32_t)w[r * cols + c]);
        }
        acc[r] = (int32_t)a;
    }
}
