/* CONCATENATION: per outer index, every input's block in input order (whole-block memcpy). */
#include <string.h>
#include "tf_concat.h"

void tf_concat(const tf_concat_params_t *p, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t k = 0; k < p->count; ++k) {
            const int32_t bytes = p->block_bytes[k];
            memcpy(output, p->inputs[k] + (size_t)o * (size_t)bytes, (size_t)bytes);
            output += bytes;
        }
    }
}
