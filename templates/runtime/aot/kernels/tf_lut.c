/* Table lookups of tf_lut.h. The input and output may share a buffer (one element is read before
 * it is written). */
#include "tf_lut.h"

void tf_lut_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n)
{
    const int8_t *t = table + 128;
    int32_t i = 0;
    /* four at a time: the loads of the next input bytes do not wait on the table stores */
    for (; i + 4 <= n; i += 4) {
        int8_t a = t[in[i]], b = t[in[i + 1]], c = t[in[i + 2]], d = t[in[i + 3]];
        out[i] = a, out[i + 1] = b, out[i + 2] = c, out[i + 3] = d;
    }
    for (; i < n; ++i) {
        out[i] = t[in[i]];
    }
}

void tf_lut_s8_s16(const int16_t *table, const int8_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = table[in[i] + 128];
    }
}

void tf_lut_s8_s32(const int32_t *table, const int8_t *in, int32_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = table[in[i] + 128];
    }
}

void tf_lut_s8_f32(const float *table, const int8_t *in, float *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = table[in[i] + 128];
    }
}
