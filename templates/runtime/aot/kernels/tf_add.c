/* ADD int8, same shapes (TFLite reference_integer_ops::Add / AddFunc). */
#include "tf_kernels.h"

void tf_add_s8(const tf_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t a = (p->in1_offset + input1[i]) * (1 << p->left_shift);
        const int32_t b = (p->in2_offset + input2[i]) * (1 << p->left_shift);
        const int32_t sa = tf_requantize(a, p->in1_mult, p->in1_shift);
        const int32_t sb = tf_requantize(b, p->in2_mult, p->in2_shift);
        const int32_t raw = tf_requantize(sa + sb, p->out_mult, p->out_shift) + p->output_offset;
        output[i] = tf_clamp_s8(raw, p->act_min, p->act_max);
    }
}
