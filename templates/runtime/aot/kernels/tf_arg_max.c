/* ARG_MAX int8 -> int32 (see tf_arg_max.h). */
#include "tf_arg_max.h"

void tf_arg_max_s8(const tf_arg_max_params_t *p, const int8_t *input, int32_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *block = input + o * p->axis * p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            int32_t best = block[i], index = 0;
            for (int32_t k = 1; k < p->axis; ++k) {
                const int32_t v = block[k * p->inner + i];
                if (v > best) {          /* strictly greater: ties keep the first index */
                    best = v;
                    index = k;
                }
            }
            output[o * p->inner + i] = index;
        }
    }
}
