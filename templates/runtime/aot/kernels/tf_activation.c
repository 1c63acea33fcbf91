/* int16 activation kernels of tf_activation.h, bit-exact with TFLM's reference kernels. */
#include "tf_kernels.h"
#include "tf_activation.h"

void tf_rescale_s16(const tf_rescale_params_t *p, const int16_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t x = (int32_t)in[i] - p->input_offset;
        int32_t y;
        if (x >= 0) {
            y = tf_requantize(x, p->pos_multiplier, p->pos_shift);
        } else {
            y = tf_requantize(x, p->neg_multiplier, p->neg_shift);
            y = p->negate_neg ? -y : y;
        }
        y += p->output_offset;
        out[i] = (int16_t)(y < p->act_min ? p->act_min : (y > p->act_max ? p->act_max : y));
    }
}

void tf_clamp_s16(const int16_t *in, int16_t *out, int32_t n, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = in[i];
        /* TFLM's order: above hi first, so lo wins only below it */
        out[i] = (int16_t)(v > hi ? hi : (v < lo ? lo : v));
    }
}
